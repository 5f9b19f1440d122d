// The socket.io-client side of the Socket.IO benchmark (bench/nats
// cmd/chatbench sio): the same client for both servers, `wiredojo chat
// serve` at /socket.io/ and node's socket.io (server.js).
//
//   node client.js fanout URL N EVENTS WARMUP WINDOW WORKERS
//     N subscribers (spread over WORKERS worker threads, so that the
//     client is not one core) join room "fanout" with an acked "join"; a
//     publisher in the main thread emits "ev" with a 128-byte argument
//     array, never more than WINDOW events ahead of the slowest
//     subscriber. After WARMUP events it prints "warm" and waits for a
//     line on stdin (the caller reads the server's CPU time), then sends
//     EVENTS measured events and prints "result {json}": deliveries,
//     seconds from the first measured send to the last receipt, lost,
//     p50 and p99 latency in microseconds (send time in the payload to
//     receipt).
//   node client.js idle URL N
//     N connected, idle clients; prints "ready", holds them until stdin
//     ends.
//
// URL is the namespace's URL (http://HOST:PORT/chat for wiredojo's
// built-ins, http://HOST:PORT/ for server.js); the transport is WebSocket
// from the start.
"use strict";
const { Worker, isMainThread, parentPort, workerData } = require("worker_threads");
const { io } = require("socket.io-client");
const { performance } = require("perf_hooks");

const opts = { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 30000 };
const ROOM = "fanout";
const EVENT = "ev";
const PAYLOAD = 128; // the JSON argument array, as in the other systems

// now is microseconds on a clock shared by the threads.
const now = () => performance.timeOrigin * 1000 + performance.now() * 1000;

function connect(url) {
  return new Promise((resolve, reject) => {
    const s = io(url, opts);
    s.once("connect", () => resolve(s));
    s.once("connect_error", (e) => reject(new Error("connect " + url + ": " + e.message)));
  });
}

async function joined(url) {
  const s = await connect(url);
  await s.timeout(30000).emitWithAck("join", ROOM);
  return s;
}

// payload is the string argument that makes ["<seq>:<ts>:xxx..."] 128 bytes.
function payload(seq, ts) {
  const head = seq + ":" + Math.round(ts) + ":";
  return head + "x".repeat(PAYLOAD - 4 - head.length);
}

if (!isMainThread) {
  // A worker: subscribers workerData.from..to-1; counts[i] is subscriber
  // i's receipts, latencies of measured events (seq >= warmup) kept.
  const { url, from, to, counts, warmup } = workerData;
  const cnt = new Int32Array(counts);
  const lat = [];
  const socks = [];
  (async () => {
    for (let i = from; i < to; i++) {
      const s = await joined(url);
      socks.push(s);
      s.on(EVENT, (arg) => {
        const t = now();
        const a = arg.indexOf(":");
        const seq = Number(arg.slice(0, a));
        if (seq >= warmup) lat.push(t - Number(arg.slice(a + 1, arg.indexOf(":", a + 1))));
        Atomics.add(cnt, i, 1);
      });
    }
    parentPort.postMessage({ ready: true });
  })().catch((e) => {
    parentPort.postMessage({ error: String(e) });
  });
  parentPort.on("message", (m) => {
    if (m.done) {
      for (const s of socks) s.disconnect();
      parentPort.postMessage({ lat: Float64Array.from(lat) });
    }
  });
  return;
}

const readLine = () =>
  new Promise((resolve) => {
    let buf = "";
    const on = (d) => {
      buf += d;
      if (buf.includes("\n") || d === null) {
        process.stdin.off("data", on);
        process.stdin.off("end", on);
        resolve(buf);
      }
    };
    process.stdin.on("data", on);
    process.stdin.on("end", () => on(null));
  });

const tick = () => new Promise((r) => setImmediate(r));

async function fanout(url, n, events, warmup, window, workers) {
  workers = Math.max(1, Math.min(workers, n));
  const counts = new SharedArrayBuffer(4 * n);
  const cnt = new Int32Array(counts);
  const ws = [];
  const per = Math.ceil(n / workers);
  for (let w = 0; w < workers; w++) {
    const from = w * per, to = Math.min(n, from + per);
    if (from >= to) break;
    const worker = new Worker(__filename, { workerData: { url, from, to, counts, warmup } });
    ws.push(worker);
  }
  await Promise.all(ws.map((w) => new Promise((resolve, reject) => {
    w.once("message", (m) => (m.error ? reject(new Error(m.error)) : resolve()));
    w.once("error", reject);
  })));
  const pub = await joined(url);
  const slowest = () => {
    let m = Infinity;
    for (let i = 0; i < n; i++) m = Math.min(m, Atomics.load(cnt, i));
    return m;
  };
  const total = warmup + events;
  let sent = 0, start = 0;
  while (sent < total) {
    if (sent === warmup) {
      while (slowest() < warmup) await tick();
      process.stdout.write("warm\n");
      await readLine();
      start = now();
    }
    const limit = sent < warmup ? warmup : total;
    let burst = 0;
    while (sent < limit && (window <= 0 || sent - slowest() < window) && burst < 256) {
      pub.emit(EVENT, payload(sent, now()));
      sent++;
      burst++;
    }
    await tick();
  }
  const deadline = Date.now() + 30000;
  while (slowest() < total && Date.now() < deadline) await tick();
  const end = now();
  let delivered = 0;
  for (let i = 0; i < n; i++) delivered += Atomics.load(cnt, i);
  const lats = await Promise.all(ws.map((w) => new Promise((resolve) => {
    w.on("message", (m) => m.lat && resolve(m.lat));
    w.postMessage({ done: true });
  })));
  pub.disconnect();
  let all = new Float64Array(lats.reduce((a, l) => a + l.length, 0));
  let off = 0;
  for (const l of lats) { all.set(l, off); off += l.length; }
  all.sort();
  const pct = (p) => (all.length ? all[Math.min(all.length - 1, Math.floor(p * all.length))] : 0);
  const measured = delivered - warmup * n;
  process.stdout.write("result " + JSON.stringify({
    deliveries: measured, seconds: (end - start) / 1e6, lost: events * n - measured,
    p50: pct(0.5), p99: pct(0.99),
  }) + "\n");
  await Promise.all(ws.map((w) => w.terminate()));
}

async function idle(url, n) {
  const socks = [];
  const batch = 100;
  for (let i = 0; i < n; i += batch) {
    const group = [];
    for (let j = i; j < Math.min(n, i + batch); j++) group.push(connect(url));
    socks.push(...(await Promise.all(group)));
  }
  process.stdout.write("ready\n");
  await new Promise((r) => { process.stdin.on("end", r); process.stdin.resume(); });
  for (const s of socks) s.disconnect();
}

const [mode, url, ...rest] = process.argv.slice(2);
const main = mode === "fanout" ? fanout(url, ...rest.map(Number)) : mode === "idle" ? idle(url, Number(rest[0])) : Promise.reject(new Error("usage: client.js fanout|idle URL ..."));
main.then(() => process.exit(0), (e) => {
  process.stderr.write("client.js: " + (e && e.stack || e) + "\n");
  process.exit(1);
});
