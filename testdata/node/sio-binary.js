// The session that testdata/captures/generate.sh records for
// sio-binary.pcap: node's socket.io 4.8 server (sio-server.js, started
// here) and node's socket.io-client 4.8, binary attachments both ways.
// A polling-only client emits "echo" with one attachment and an ack (the
// attachment travels base64 in the POST body, the BINARY_ACK's in the
// poll's answer); a WebSocket client emits "echo" with two attachments
// and an ack (binary messages after the BINARY_EVENT and the BINARY_ACK).
// Prints OK, or FAIL and why.
//   node sio-binary.js
"use strict";
const { spawn } = require("child_process");
const path = require("path");
const { io } = require("socket.io-client");

const fail = (why) => { console.log("FAIL " + why); process.exit(1); };
setTimeout(() => fail("no end within 60 s"), 60000).unref();
const server = spawn(process.execPath, [path.join(__dirname, "sio-server.js")], { stdio: ["pipe", "pipe", "inherit"] });
server.stdout.once("data", async (d) => {
  const m = /PORT (\d+)/.exec(String(d));
  if (!m) fail("server said " + d);
  const url = "http://127.0.0.1:" + m[1];
  const session = (transports) => new Promise((resolve, reject) => {
    const s = io(url, { transports, reconnection: false, timeout: 5000 });
    s.once("connect", () => resolve(s));
    s.once("connect_error", reject);
  });
  const echo = (s, ...args) => new Promise((resolve, reject) =>
    s.timeout(5000).emit("echo", ...args, (err, ...back) => (err ? reject(err) : resolve(back))));
  try {
    const a = await session(["polling"]);
    const [back] = await echo(a, Buffer.from([1, 2, 3]));
    if (!Buffer.from([1, 2, 3]).equals(back)) fail("polling echo " + JSON.stringify(back));
    a.close();
    const b = await session(["websocket"]);
    const [obj, buf] = await echo(b, { file: Buffer.from([4, 5]) }, Buffer.from([6]));
    if (!Buffer.from([4, 5]).equals(obj.file) || !Buffer.from([6]).equals(buf)) fail("websocket echo");
    b.close();
  } catch (e) {
    fail(e.message);
  }
  console.log("OK");
  server.once("exit", () => process.exit(0));
  server.stdin.end();
});
