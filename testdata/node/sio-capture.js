// The socket.io-client 4.8 session that testdata/captures/generate.sh
// records against `wiredojo chat serve --socketio-test` (sio-capture.pcap):
// the polling handshake, the upgrade to WebSocket, pings and pongs, an event
// with an ack, an event with a binary attachment, the close.
//   node sio-capture.js URL
const { io } = require("socket.io-client");

const s = io(process.argv[2], { reconnection: false, timeout: 5000 });
const fail = (why) => { console.log("FAIL " + why); process.exit(1); };
const timer = setTimeout(() => fail("no end within 10 s"), 10000);
s.once("connect_error", (err) => fail(err.message));
s.once("connect", () => {
  const upgraded = () => setTimeout(async () => {
    const back = await s.timeout(5000).emitWithAck("message-with-ack", { text: "hi" });
    if (back.text !== "hi") fail("ack " + JSON.stringify(back));
    const bin = new Promise((resolve) => s.once("message-back", resolve));
    s.emit("message", Buffer.from([1, 2, 3]));
    await bin;
    // Pings every 300 ms: stay for two of them.
    setTimeout(() => { s.close(); clearTimeout(timer); console.log("OK"); }, 700);
  }, 100);
  if (s.io.engine.transport.name === "websocket") upgraded();
  else s.io.engine.once("upgrade", upgraded);
});
