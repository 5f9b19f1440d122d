// The socket.io-client side of the Socket.IO benchmark (bench/nats
// cmd/chatbench sio): the same client for both servers, `wiredojo chat
// serve` at /socket.io/ and node's socket.io (server.js).
//
//   node client.js fanout URL N EVENTS WARMUP WINDOW HOLDERS [PROCS]
//     N subscribers (spread over HOLDERS holders, so that the client is
//     not one core: worker threads of this process, or with PROCS=1
//     processes of their own, children of this one) join room "fanout"
//     with an acked "join"; a publisher in the main thread emits "ev" with
//     a 128-byte argument array, never more than WINDOW events ahead of
//     the slowest subscriber; while the window is full it waits for the
//     holder processes' next report (worker threads: it polls their
//     counts once per turn of the event loop), so that it does not spin
//     a core the servers share. After WARMUP events it prints "warm" and
//     waits for a line on stdin (the caller reads the server's CPU time),
//     then sends EVENTS measured events and prints "result {json}":
//     deliveries, seconds from the first measured send to the last
//     receipt, lost, p50 and p99 latency in microseconds (send time in the
//     payload to receipt, on the machine's monotonic clock, which every
//     thread and process shares).
//   node client.js idle URL N
//     N connected, idle clients; prints "ready", holds them until stdin
//     ends.
//
// URL is the namespace's URL (http://HOST:PORT/chat for wiredojo's
// built-ins, http://HOST:PORT/ for server.js); the transport is WebSocket
// from the start.
"use strict";
const { Worker, isMainThread, parentPort, workerData } = require("worker_threads");
const { fork } = require("child_process");
const { io } = require("socket.io-client");

const opts = { transports: ["websocket"], reconnection: false, forceNew: true, timeout: 30000 };
const ROOM = "fanout";
const EVENT = "ev";
const PAYLOAD = 128; // the JSON argument array, as in the other systems

// now is microseconds on the monotonic clock, shared by the threads and
// the processes.
const now = () => {
  const [sec, ns] = process.hrtime();
  return sec * 1e6 + ns / 1e3;
};

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

// hold connects subscribers from..to-1 of a holder; received(i) is called
// for each receipt of subscriber i (from 0), after the latency of a
// measured event (seq >= warmup) is kept in lat; dropped(i) when
// subscriber i's connection ends (a capped server's pings may come too
// late: ping timeout): it no longer holds the publisher back; what it misses
// counts as lost. Its sockets are returned; close ends them.
async function hold(url, count, warmup, lat, received, dropped) {
  const socks = [];
  let closing = false;
  for (let i = 0; i < count; i++) {
    const s = await joined(url);
    socks.push(s);
    s.on("disconnect", (reason) => {
      if (!closing) dropped(i, reason);
    });
    s.on(EVENT, (arg) => {
      const t = now();
      const a = arg.indexOf(":");
      const seq = Number(arg.slice(0, a));
      if (seq >= warmup) lat.push(t - Number(arg.slice(a + 1, arg.indexOf(":", a + 1))));
      received(i);
    });
  }
  return { socks, close: () => { closing = true; for (const s of socks) s.disconnect(); } };
}

// DROPPED is the count a dropped subscriber's receipts are set to, so that
// the slowest of the others holds the publisher back.
const DROPPED = 0x7fffffff;

if (!isMainThread) {
  // A worker thread: subscribers workerData.from..to-1; counts[i] is
  // subscriber i's receipts (DROPPED once the server ended it), the
  // count after the last subscriber's the subscribers dropped.
  const { url, from, to, counts, warmup } = workerData;
  const cnt = new Int32Array(counts);
  const n = cnt.length - 1;
  const lat = [];
  let h = { close() {} };
  hold(url, to - from, warmup, lat, (i) => Atomics.add(cnt, from + i, 1), (i) => {
    Atomics.store(cnt, from + i, DROPPED);
    Atomics.add(cnt, n, 1);
  }).then((x) => {
    h = x;
    parentPort.postMessage({ ready: true });
  }, (e) => parentPort.postMessage({ error: String(e) }));
  parentPort.on("message", (m) => {
    if (m.done) {
      h.close();
      parentPort.postMessage({ lat: Float64Array.from(lat) });
    }
  });
  return;
}

if (process.argv[2] === "holder") {
  // A holder process (fanout with PROCS=1): its subscribers' slowest
  // count goes to the parent ({slowest, dropped}) once per turn of the
  // event loop when it moved by a step, reached the warm-up or the end,
  // or a subscriber was dropped (the slowest of the others then; total
  // when none is left).
  const [url, count, warmup, total, step] = [process.argv[3], ...process.argv.slice(4).map(Number)];
  const cnt = new Array(count).fill(0);
  const lat = [];
  let h = { close() {} }, sent = -1, dropped = 0, told = 0, scheduled = false;
  const report = () => {
    scheduled = false;
    let m = total;
    for (const c of cnt) m = Math.min(m, c);
    if (dropped !== told || m !== sent && (m - sent >= step || (m >= warmup && sent < warmup) || m >= total)) {
      sent = m;
      told = dropped;
      process.send({ slowest: m, dropped });
    }
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(report);
    }
  };
  hold(url, count, warmup, lat, (i) => {
    cnt[i]++;
    schedule();
  }, (i, reason) => {
    cnt[i] = DROPPED;
    dropped++;
    process.stderr.write(`client.js: the server ended a subscriber's connection (${reason})\n`);
    schedule();
  }).then((x) => {
    h = x;
    process.send({ ready: true });
  }, (e) => process.send({ error: String(e) }));
  process.on("message", (m) => {
    if (m.done) {
      h.close();
      process.send({ lat: Float64Array.from(lat) }, () => process.exit(0));
    }
  });
  // The publisher's process ended (its run failed): end with it, or the
  // stderr this holder shares would keep the harness's reader waiting.
  process.on("disconnect", () => process.exit(1));
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

// threadHolders spreads n subscribers over workers threads; slowest reads
// their counts.
function threadHolders(url, n, warmup, workers) {
  const counts = new SharedArrayBuffer(4 * (n + 1));
  const cnt = new Int32Array(counts);
  const per = Math.ceil(n / workers);
  const hs = [];
  for (let from = 0; from < n; from += per) {
    const to = Math.min(n, from + per);
    hs.push(new Worker(__filename, { workerData: { url, from, to, counts, warmup } }));
  }
  const slowest = () => {
    let m = Infinity;
    for (let i = 0; i < n; i++) m = Math.min(m, Atomics.load(cnt, i));
    return m;
  };
  const dropped = () => Atomics.load(cnt, n);
  return { hs, slowest, dropped, changed: tick, send: (h, m) => h.postMessage(m), stop: (h) => h.terminate() };
}

// procHolders spreads n subscribers over procs processes, which report
// their slowest subscriber's count.
function procHolders(url, n, warmup, total, window, procs) {
  const per = Math.ceil(n / procs);
  const step = Math.max(1, Math.floor(window / 8));
  const hs = [];
  const low = [], drops = [];
  // waiters are resolved at the holders' next report (changed): the
  // publisher waits for it rather than spinning on the event loop while
  // its window is full.
  let waiters = [];
  for (let from = 0; from < n; from += per) {
    const count = Math.min(n, from + per) - from;
    const h = fork(__filename, ["holder", url, count, warmup, total, step].map(String), {
      serialization: "advanced", stdio: ["ignore", "ignore", "inherit", "ipc"],
    });
    const k = hs.length;
    low.push(0);
    drops.push(0);
    h.on("message", (m) => {
      if (m.slowest === undefined) return;
      low[k] = m.slowest;
      drops[k] = m.dropped;
      const w = waiters;
      waiters = [];
      for (const r of w) r();
    });
    hs.push(h);
  }
  const changed = () => new Promise((r) => waiters.push(r));
  return {
    hs, slowest: () => Math.min(...low), dropped: () => drops.reduce((a, d) => a + d, 0),
    changed, send: (h, m) => h.send(m), stop: (h) => h.kill(),
  };
}

async function fanout(url, n, events, warmup, window, holders, procs) {
  holders = Math.max(1, Math.min(holders, n));
  const total = warmup + events;
  const H = procs ? procHolders(url, n, warmup, total, window, holders) : threadHolders(url, n, warmup, holders);
  await Promise.all(H.hs.map((h) => new Promise((resolve, reject) => {
    const on = (m) => {
      if (m.error) reject(new Error(m.error));
      else if (m.ready) { h.off("message", on); resolve(); }
    };
    h.on("message", on);
    h.once("error", reject);
  })));
  const pub = await joined(url);
  let pubGone = "";
  pub.on("disconnect", (reason) => { pubGone = reason; });
  const slowest = H.slowest;
  // progress waits for the holders' next report, and fails the run when
  // nothing moved for STALL ms, or the server ended the publisher's
  // connection (no subscriber would get anything more): a run ends with
  // a reason, not at the caller's time bound.
  const STALL = 60000;
  let moved = Date.now(), last = -1;
  const progress = async () => {
    await Promise.race([H.changed(), new Promise((r) => setTimeout(r, 1000))]);
    const low = slowest();
    if (low !== last) {
      last = low;
      moved = Date.now();
    }
    if (pubGone) throw new Error(`the server ended the publisher's connection (${pubGone}) after ${sent} events`);
    if (Date.now() - moved > STALL) {
      throw new Error(`no progress for ${STALL / 1000} s: the slowest subscriber has ${low} of the ${sent} events sent (${H.dropped()} subscribers dropped)`);
    }
  };
  let sent = 0, start = 0;
  while (sent < total) {
    if (sent === warmup) {
      while (slowest() < warmup) await progress();
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
    if (burst === 0) await progress(); // the window is full
    else await tick();
  }
  const deadline = Date.now() + 30000;
  while (slowest() < total && Date.now() < deadline) await Promise.race([H.changed(), new Promise((r) => setTimeout(r, 100))]);
  const end = now();
  const low = slowest();
  const lats = await Promise.all(H.hs.map((h) => new Promise((resolve) => {
    h.on("message", (m) => m.lat && resolve(m.lat));
    H.send(h, { done: true });
  })));
  pub.disconnect();
  let all = new Float64Array(lats.reduce((a, l) => a + l.length, 0));
  let off = 0;
  for (const l of lats) { all.set(l, off); off += l.length; }
  all.sort();
  const pct = (p) => (all.length ? all[Math.min(all.length - 1, Math.floor(p * all.length))] : 0);
  // Every measured receipt has its latency: their number is the
  // deliveries.
  const measured = all.length;
  process.stdout.write("result " + JSON.stringify({
    deliveries: measured, seconds: (end - start) / 1e6, lost: events * n - measured, dropped: H.dropped(),
    p50: pct(0.5), p99: pct(0.99), slowest: low,
  }) + "\n");
  await Promise.all(H.hs.map((h) => H.stop(h)));
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
