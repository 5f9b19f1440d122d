// node's socket.io 4.8 server for the Go client's tests (tcpchat,
// socketio/client): listens on 127.0.0.1 (a free port), prints
// "PORT <n>", and exits when its stdin closes (the Go test owns it).
//   node sio-server.js [--recovery]
// With --recovery, connection state recovery is on (the default options:
// 2 minutes, middlewares skipped for a recovered socket).
// Namespaces "/" and "/chat", each with:
//   a middleware refusing auth {name: "intruder"} ("intruders are refused");
//   "whoami" (ack): acks the auth payload the socket connected with;
//   "echo" (args...): acks the args, or emits "echo" with them without ack;
//   "slow": never acks;
//   "ask" (x, ms): emits "question" x with an ack wanted within ms, then
//     "answer" with the client's answer, or "timeout";
//   "join" (room) (ack): joins the room; "to-room" (room, text): emits
//     "message" text to the room's members;
//   "drop": closes the socket's Engine.IO connection (the client reconnects);
//   "drop-then" (room, text, ms): closes it, then emits "message" text to
//     the room after ms;
//   "recovered" (ack): acks whether the socket was recovered.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const server = http.createServer();
const recovery = process.argv.includes('--recovery');
const io = new Server(server, { pingInterval: 2000, pingTimeout: 2000, ...(recovery ? { connectionStateRecovery: {} } : {}) });

for (const name of ['/', '/chat']) {
  const ns = io.of(name);
  ns.use((socket, next) => {
    if (socket.handshake.auth && socket.handshake.auth.name === 'intruder') return next(new Error('intruders are refused'));
    next();
  });
  ns.on('connection', (socket) => {
    socket.on('whoami', (ack) => ack(socket.handshake.auth));
    socket.on('echo', (...args) => {
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
      if (ack) ack(...args);
      else socket.emit('echo', ...args);
    });
    socket.on('slow', () => {});
    socket.on('ask', (x, ms) => {
      socket.timeout(ms).emit('question', x, (err, answer) => socket.emit('answer', err ? 'timeout' : answer));
    });
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack(room);
    });
    socket.on('to-room', (room, text) => ns.to(room).emit('message', text));
    socket.on('drop', () => socket.conn.close());
    socket.on('drop-then', (room, text, ms) => {
      socket.conn.close();
      setTimeout(() => ns.to(room).emit('message', text), ms);
    });
    socket.on('recovered', (ack) => ack(socket.recovered));
  });
}

server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
