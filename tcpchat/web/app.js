// wiredojo chat page: the event protocol of docs/PROTOCOL.md spoken by
// plain JavaScript over the browser's WebSocket. Each packet travels as one
// binary WebSocket message, without the 4-byte length that framed TCP puts
// in front of it. The packets themselves are built and read by wire.js, the
// log and the status by ui.js (shared with the Socket.IO page, sio.js).
"use strict";

const NS = "/chat";
const ACK_TIMEOUT_MS = 5000;

let sock = null; // the WebSocket
let joined = false; // namespace joined
let nextAck = 1;
let session = null; // {name, room, token} once the form was submitted
let retries = 0; // reconnection attempts since the last successful connect
let retryTimer = null; // the pending reconnection
let retryTick = null; // the status countdown until then
const RETRY_MIN_MS = 500; // first wait before reconnecting; doubles up to RETRY_MAX_MS
const RETRY_MAX_MS = 10000;
const pendingAcks = new Map(); // ack id -> {resolve, reject, timer}

function send(bytes) {
  if (sock && sock.readyState === WebSocket.OPEN) sock.send(bytes);
}

// emit sends an event and resolves with the answer's arguments (the ack).
function emit(name, args) {
  const id = nextAck++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pendingAcks.delete(id);
      reject(new Error("no ack within " + ACK_TIMEOUT_MS / 1000 + " s"));
    }, ACK_TIMEOUT_MS);
    pendingAcks.set(id, { resolve, reject, timer });
    send(encodeEvent(NS, name, args, id));
  });
}

function failPending(why) {
  for (const [id, p] of pendingAcks) {
    clearTimeout(p.timer);
    p.reject(new Error(why));
    pendingAcks.delete(id);
  }
}

function connect(name, room, token) {
  clearTimeout(retryTimer);
  clearInterval(retryTick);
  session = { name, room, token, refused: false };
  if (sock) {
    const old = sock;
    sock = null; // its close is ours: no reconnect
    old.close(1000);
  }
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  sock = new WebSocket(scheme + location.host + "/ws");
  sock.binaryType = "arraybuffer";
  const me = sock;
  setStatus(retries ? "reconnecting… (attempt " + retries + ")" : "connecting…", false);

  me.onopen = () => send(encodeHandshake(token));
  me.onmessage = (ev) => {
    if (me !== sock) return;
    let p;
    try {
      p = decode(ev.data);
    } catch (err) {
      show("error", "bad packet from the server: " + err.message);
      return;
    }
    receive(p, name, room);
  };
  me.onclose = (ev) => {
    if (me !== sock) return;
    const wasJoined = joined;
    joined = false;
    failPending("connection closed");
    if (session.refused || ev.code === 1008) {
      // Refused (origin, token): trying again would be refused again.
      setStatus("closed (" + ev.code + (ev.reason ? ": " + ev.reason : "") + ")", false);
      show("error", "connection refused, WebSocket status " + ev.code + (ev.reason ? ": " + ev.reason : ""));
      return;
    }
    if (wasJoined || retries === 0) {
      show("note", "connection lost (WebSocket status " + ev.code + "); reconnecting");
    }
    scheduleReconnect();
  };
}

// scheduleReconnect tries again after a wait that doubles with each failed
// attempt (0.5 s, 1 s, 2 s, … at most 10 s), with some jitter so that many
// pages do not come back at the same instant after a server restart.
function scheduleReconnect() {
  retries++;
  const wait = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (retries - 1)) * (0.8 + 0.4 * Math.random());
  let left = Math.ceil(wait / 1000);
  const tick = () => setStatus("disconnected: retrying in " + left + " s (attempt " + retries + ")", false);
  tick();
  retryTick = setInterval(() => { left = Math.max(0, left - 1); tick(); }, 1000);
  retryTimer = setTimeout(() => connect(session.name, session.room, session.token), wait);
}

function receive(p, name, room) {
  switch (p.type) {
    case TYPE.welcome:
      send(encodeConnect(NS, { name, presence: true })); // presence: hear who joins and leaves
      break;
    case TYPE.connect: {
      joined = true;
      const again = retries > 0;
      retries = 0;
      setStatus("connected as " + name, true);
      emit("join", [room])
        .then((a) => show("note", (again ? "reconnected; " : "") + "joined room " + a[0].room + " (" + a[0].members + " here)"))
        .catch((err) => show("error", "join: " + err.message));
      break;
    }
    case TYPE.connectError:
      session.refused = true;
      show("error", "namespace refused: " + p.reason);
      break;
    case TYPE.ping:
      send(encodePong());
      break;
    case TYPE.event:
      if ((p.name === "joined" || p.name === "left") && p.args[0] && typeof p.args[0] === "object") {
        const who = p.args[0];
        show("note presence", who.name + " " + p.name + " " + who.room + " (" + who.members + " here)");
      } else if (p.name === "message" && p.args[0] && typeof p.args[0] === "object") {
        const m = p.args[0];
        show("msg", span("from", m.from), ": " + (m.text ?? JSON.stringify(m.data)));
      } else {
        show("event", span("from", p.name), " " + JSON.stringify(p.args));
      }
      break;
    case TYPE.ack: {
      const pending = pendingAcks.get(p.ackId);
      if (pending) {
        clearTimeout(pending.timer);
        pendingAcks.delete(p.ackId);
        pending.resolve(p.args);
      }
      break;
    }
    case TYPE.disconnect:
      joined = false;
      show("note", "left " + p.ns + ": " + p.reason);
      break;
    case TYPE.error:
      // An error before the namespace was joined (a bad token, say)
      // would come back on every attempt: do not retry.
      if (!joined) session.refused = true;
      show("error", "server error " + p.code + ": " + p.reason);
      break;
  }
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = new URLSearchParams(location.search).get("token") || "";
  retries = 0;
  connect($("name").value.trim() || "guest", $("room").value.trim() || "lobby", token);
});

$("compose").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("text").value;
  if (!text || !joined) return;
  $("text").value = "";
  const li = show("msg mine", span("from", $("name").value.trim() || "guest"), ": " + text);
  const state = span("pending", "sending…");
  li.append(state);
  emit("message", [text])
    .then((a) => {
      if (a[0] && a[0].error) throw new Error(a[0].error);
      state.className = a[0].delivered ? "ack" : "pending";
      state.textContent = others(a[0].delivered);
    })
    .catch((err) => {
      state.className = "error";
      state.textContent = "✗ " + err.message;
    });
});

// A link such as /?name=ann&room=lobby fills the form and joins at once.
const params = new URLSearchParams(location.search);
if (params.get("name")) $("name").value = params.get("name");
if (params.get("room")) $("room").value = params.get("room");
if (params.get("name") && params.get("room")) $("login").requestSubmit();
