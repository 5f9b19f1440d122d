// Interop peer for framing/ws: the npm `ws` package as a client of our
// server. Usage: node client.js URL [plain|deflate|deflate9] (deflate9 asks
// for 9-bit LZ77 windows both ways, so zlib here rejects any back-reference
// we make beyond 512 bytes). Sends messages of many sizes
// (some fragmented), checks each echo, pings, closes with 4001, and prints
// "OK" on success (exit 0) or the failure (exit 1).
'use strict';
const WebSocket = require('ws');

const url = process.argv[2];
const mode = process.argv[3] || 'plain';
const deflate = mode !== 'plain';
const pmd = mode === 'deflate9' ? { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 9 } : { threshold: 0 };
const ws = new WebSocket(url, ['echo'], {
  perMessageDeflate: deflate ? pmd : false,
  handshakeTimeout: 10000,
});

function fail(msg) {
  console.log('FAIL ' + msg);
  process.exit(1);
}
setTimeout(() => fail('timeout'), 30000).unref();

const sizes = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20];
const plan = [];
for (const n of sizes) {
  plan.push({ binary: false, data: 'é'.repeat(Math.floor(n / 2)) + (n % 2 ? 'x' : '') });
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31) & 0xff;
  plan.push({ binary: true, data: b });
}
plan.push({ binary: false, data: 'κόσμε', fragments: ['κό', 'σμε'] });
plan.push({ binary: true, data: Buffer.from([1, 2, 3, 4, 5, 6]), fragments: [Buffer.from([1, 2]), Buffer.from([3, 4]), Buffer.from([5, 6])] });

let answered = '';
ws.on('upgrade', (res) => { answered = res.headers['sec-websocket-extensions'] || ''; });

let i = 0;
function next() {
  if (i === plan.length) {
    ws.ping(Buffer.from('are you there'));
    return;
  }
  const m = plan[i];
  if (m.fragments) {
    m.fragments.forEach((f, k) => ws.send(f, { binary: m.binary, fin: k === m.fragments.length - 1 }));
  } else {
    ws.send(m.data, { binary: m.binary });
  }
}

ws.on('open', () => {
  if (ws.protocol !== 'echo') fail('subprotocol ' + JSON.stringify(ws.protocol));
  if (deflate !== (ws.extensions.indexOf('permessage-deflate') >= 0)) fail('extensions ' + JSON.stringify(ws.extensions));
  if (mode === 'deflate9' && answered.indexOf('server_max_window_bits=9') < 0) fail('extensions answered ' + JSON.stringify(answered));
  next();
});
ws.on('message', (data, isBinary) => {
  const m = plan[i];
  if (isBinary !== m.binary) fail(`message ${i}: binary=${isBinary}`);
  const want = Buffer.isBuffer(m.data) ? m.data : Buffer.from(m.data);
  if (!want.equals(data)) fail(`message ${i}: ${data.length} bytes back, want ${want.length}`);
  i++;
  next();
});
ws.on('pong', (data) => {
  if (data.toString() !== 'are you there') fail('pong payload ' + data);
  ws.close(4001, 'done');
});
ws.on('close', (code, reason) => {
  if (code !== 4001 || reason.toString() !== 'done') fail(`close ${code} ${reason}`);
  if (i !== plan.length) fail(`closed after ${i} of ${plan.length} messages`);
  console.log('OK');
  process.exit(0);
});
ws.on('error', (err) => fail('error ' + err.message));
