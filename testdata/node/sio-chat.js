// socket.io-client 4.8 against `wiredojo chat serve`'s Socket.IO transport
// (tcpchat/sio tests). One scenario; it talks with the Go test by lines:
// it prints "STEP <name> [data]" and, where the test must act, waits for a
// line on stdin. It ends with "OK", or "FAIL <why>" and exit 1.
//   node sio-chat.js URL polling|websocket|upgrade
const { io } = require("socket.io-client");
const assert = require("assert");
const readline = require("readline");

const [url, mode] = process.argv.slice(2);
const base = { reconnection: false, timeout: 5000 };
if (mode === "polling") base.transports = ["polling"];
if (mode === "websocket") base.transports = ["websocket"];

const lines = readline.createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", (l) => waiting.length && waiting.shift()(l.trim()));
const need = (word) => new Promise((resolve, reject) => waiting.push((l) => (l === word ? resolve() : reject(new Error("test said " + l + ", want " + word)))));
const step = (...words) => console.log("STEP " + words.join(" "));

function connected(s) {
  return new Promise((resolve, reject) => {
    s.once("connect", () => resolve(s));
    s.once("connect_error", (err) => reject(err));
  });
}
function once(s, ev) {
  return new Promise((resolve) => s.once(ev, (...args) => resolve(args)));
}
function ackAll(s, ev, ...args) {
  return new Promise((resolve, reject) =>
    s.timeout(5000).emit(ev, ...args, (err, ...back) => (err ? reject(err) : resolve(back))));
}

async function main() {
  // One Manager: "/" and "/chat" share the Engine.IO connection.
  const main = io(url, { ...base, auth: { token: "tok", name: "sio" } });
  await connected(main);
  const chat = main.io.socket("/chat", { auth: { token: "tok", name: "sio" } }); // connects
  await connected(chat);
  assert.ok(chat.id && main.id && chat.id !== main.id, "socket ids");
  if (mode === "upgrade" && main.io.engine.transport.name !== "websocket") await once(main.io.engine, "upgrade");
  assert.strictEqual(main.io.engine.transport.name, mode === "polling" ? "polling" : "websocket");
  step("connected");

  // The middleware refuses, the namespace does not exist, the token is wrong.
  const refused = io(url + "/chat", { ...base, forceNew: true, auth: { token: "tok", name: "intruder" } });
  await assert.rejects(connected(refused), /intruders are refused/);
  refused.close();
  const nope = io(url + "/nope", { ...base, forceNew: true, auth: { token: "tok" } });
  await assert.rejects(connected(nope), /Invalid namespace/);
  nope.close();
  const badToken = io(url, { ...base, forceNew: true, auth: { token: "wrong" } });
  await assert.rejects(connected(badToken), /token/);
  badToken.close();
  step("refusals");

  // echo (built-in): acks with its arguments, binary attachments included.
  assert.deepStrictEqual(await ackAll(chat, "echo", 1, "two", { three: [true] }), [1, "two", { three: [true] }]);
  const bin = await ackAll(chat, "echo", Buffer.from([1, 2, 3]), { b: Buffer.from([4, 5]) });
  assert.ok(Buffer.from([1, 2, 3]).equals(bin[0]) && Buffer.from([4, 5]).equals(bin[1].b), "binary echo " + JSON.stringify(bin));
  // echo without an ack: emitted back.
  const back = once(chat, "echo");
  chat.emit("echo", "plain");
  assert.deepStrictEqual(await back, ["plain"]);
  step("echo");

  // Acks with a timeout, client side: "/" has a handler that never acks.
  await assert.rejects(main.timeout(200).emitWithAck("slow", 1), /operation has timed out/);
  // Server side: the server asks with an ack; answered, then not.
  main.on("question", (x, cb) => { if (x !== "silent") cb(x * 2); });
  const answer = once(main, "answer");
  main.emit("ask", 21);
  assert.deepStrictEqual(await answer, [42]);
  const timedOut = once(main, "answer");
  main.emit("ask", "silent");
  assert.deepStrictEqual(await timedOut, ["timeout"]);
  step("acks");

  // Rooms, shared with a framed-TCP client of the test.
  const joined = await ackAll(chat, "join", "lobby");
  assert.strictEqual(joined[0].room, "lobby");
  step("joined", chat.id);
  const heard = once(chat, "message");
  await need("said");
  const [m] = await heard;
  assert.deepStrictEqual([m.from, m.text], ["tcp", "hello from tcp"]);
  const said = await ackAll(chat, "message", "hello from sio");
  assert.strictEqual(said[0].delivered, 1);
  step("said");
  await need("heard");

  // Recovery: the test drops our connection on the server, sends to the
  // room while we are away, and we reconnect with our pid.
  const gone = once(chat, "disconnect");
  step("engine", main.io.engine.id);
  const [reason] = await gone;
  assert.strictEqual(reason, "transport close");
  step("dropped");
  await need("reconnect");
  const missed = once(chat, "message");
  main.connect();
  chat.connect();
  await Promise.all([connected(main), connected(chat)]);
  assert.ok(chat.recovered, "chat socket not recovered");
  const [m2] = await missed;
  assert.deepStrictEqual([m2.from, m2.text], ["tcp", "while you were away"]);
  // Still in the room.
  const said2 = await ackAll(chat, "message", "back again");
  assert.strictEqual(said2[0].delivered, 1);
  step("recovered");

  // Durable: with a clientId, a durable emit arrives as an event with an
  // ack; the ack is the receipt (the test checks the queue is empty).
  const d = io(url + "/chat", { ...base, forceNew: true, auth: { token: "tok", name: "d", clientId: "sio-durable" } });
  await connected(d);
  const note = new Promise((resolve) => d.once("note", (...args) => resolve(args)));
  step("durable-ready");
  const [x, cb] = await note;
  assert.strictEqual(x, "kept");
  assert.strictEqual(typeof cb, "function", "durable event without an ack");
  cb();
  step("durable-acked");
  await need("durable-done");
  d.close();

  main.close();
  console.log("OK");
}

main().then(() => process.exit(0), (err) => {
  console.log("FAIL " + ((err && err.stack) || err));
  process.exit(1);
});
