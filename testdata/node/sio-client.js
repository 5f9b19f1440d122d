// A socket.io-client session against a Socket.IO server under test: connect
// with auth, emit with acks both ways, binary attachments, namespaces, a
// refused middleware, an unknown namespace, an ack timeout. It prints OK, or
// the first failure and exits 1.
//   node sio-client.js URL polling|websocket|upgrade
const { io } = require("socket.io-client");
const assert = require("assert");

const [url, mode] = process.argv.slice(2);
const opts = { reconnection: false, timeout: 5000, forceNew: true };
if (mode === "polling") opts.transports = ["polling"];
if (mode === "websocket") opts.transports = ["websocket"];

function connect(nsp, auth) {
  const s = io(url + nsp, { ...opts, auth });
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", (err) => { s.close(); reject(err); });
  });
}

// ackAll emits with an ack and resolves with all the ack's arguments.
function ackAll(s, ev, ...args) {
  return new Promise((resolve, reject) =>
    s.timeout(5000).emit(ev, ...args, (err, ...back) => (err ? reject(err) : resolve(back))));
}

function once(s, ev) {
  return new Promise((resolve) => s.once(ev, (...args) => resolve(args)));
}

async function main() {
  const s = await connect("/", { token: "good" });
  assert.ok(s.id, "no socket id");
  if (mode === "upgrade") {
    if (s.io.engine.transport.name !== "websocket") await once(s.io.engine, "upgrade");
    assert.strictEqual(s.io.engine.transport.name, "websocket");
  } else {
    assert.strictEqual(s.io.engine.transport.name, mode);
  }

  const back = await ackAll(s, "echo", 1, "two", { three: [true] });
  assert.deepStrictEqual(back, [1, "two", { three: [true] }]);

  const bin = await ackAll(s, "echo", Buffer.from([1, 2, 3]), { b: Buffer.from([4, 5]) });
  assert.ok(Buffer.from([1, 2, 3]).equals(bin[0]), "binary attachment 0: " + JSON.stringify(bin));
  assert.ok(Buffer.from([4, 5]).equals(bin[1].b), "binary attachment 1");

  s.on("question", (x, cb) => cb(x * 2));
  const answer = once(s, "answer");
  s.emit("ask", 21);
  assert.deepStrictEqual(await answer, [42]);

  const heard = once(s, "heard");
  s.emit("tell", "no ack wanted");
  assert.deepStrictEqual(await heard, ["no ack wanted"]);

  await assert.rejects(s.timeout(300).emitWithAck("silence"), /operation has timed out/);

  const c = await connect("/custom", { token: "good" });
  assert.deepStrictEqual(await c.timeout(5000).emitWithAck("echo", "in custom"), "in custom");
  c.close();

  await assert.rejects(connect("/custom", { token: "bad" }), /refused by the middleware/);
  await assert.rejects(connect("/nope", {}), /Invalid namespace/);

  s.close();
  console.log("OK");
}

main().then(() => process.exit(0), (err) => {
  console.log("FAIL " + (err && err.stack || err));
  process.exit(1);
});
