// The socket.io peer of the separate-process chat benchmark: the same
// workload as `wiredojo chat serve`'s built-in handlers. A client joins a
// room with "join" (acked with the room's size); any other event is relayed
// unchanged to the sender's rooms, never back to the sender.
// Usage: node server.js PORT   (prints "listening PORT" once ready)
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 0);
const httpServer = http.createServer();
const io = new Server(httpServer, { transports: ["websocket"], serveClient: false });

io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack({ room, members: io.sockets.adapter.rooms.get(room)?.size || 0 });
  });
  socket.onAny((event, ...args) => {
    if (event === "join") return;
    const rooms = [...socket.rooms].filter((r) => r !== socket.id);
    if (rooms.length > 0) socket.to(rooms).emit(event, ...args);
    else socket.broadcast.emit(event, ...args);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log("listening " + httpServer.address().port);
});
process.on("SIGTERM", () => process.exit(0));
