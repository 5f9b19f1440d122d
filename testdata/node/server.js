// Interop peer for framing/ws: the npm `ws` package as an echo server for
// our client. Usage: node server.js [deflate]. Listens on 127.0.0.1 (a free
// port), prints "PORT <n>", echoes every message with its type, answers
// closes with the same code, and reports each close as "CLOSE <code>
// <reason>". It exits when its stdin closes (the Go test owns it).
'use strict';
const WebSocket = require('ws');

const deflate = process.argv[2] === 'deflate';
const wss = new WebSocket.Server({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: deflate ? { threshold: 0 } : false,
  handleProtocols: (protocols) => (protocols.has('echo') ? 'echo' : false),
});
wss.on('listening', () => console.log('PORT ' + wss.address().port));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code, reason) => console.log(`CLOSE ${code} ${reason}`));
  ws.on('error', (err) => console.log('ERROR ' + err.message));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
