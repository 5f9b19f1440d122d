// Interop peer for framing/ws: the npm `ws` package as an echo server for
// our client. Usage: node server.js [plain|deflate|deflate9] (deflate9
// limits both LZ77 windows to 9 bits). Listens on 127.0.0.1 (a free
// port), prints "PORT <n>", echoes every message with its type, answers
// closes with the same code, and reports each close as "CLOSE <code>
// <reason>". It exits when its stdin closes (the Go test owns it).
'use strict';
const WebSocket = require('ws');

const mode = process.argv[2] || 'plain';
const pmd = mode === 'deflate9' ? { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 9 } : { threshold: 0 };
const wss = new WebSocket.Server({
  host: '127.0.0.1',
  port: 0,
  perMessageDeflate: mode !== 'plain' ? pmd : false,
  handleProtocols: (protocols) => (protocols.has('echo') ? 'echo' : false),
});
wss.on('listening', () => console.log('PORT ' + wss.address().port));
wss.on('headers', (headers) => {
  const ext = headers.find((h) => h.toLowerCase().startsWith('sec-websocket-extensions:'));
  console.log('EXTENSIONS ' + (ext ? ext.slice(ext.indexOf(':') + 1).trim() : ''));
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('close', (code, reason) => console.log(`CLOSE ${code} ${reason}`));
  ws.on('error', (err) => console.log('ERROR ' + err.message));
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
