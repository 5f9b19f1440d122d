// wiredojo chat page: the event protocol of docs/PROTOCOL.md spoken by
// plain JavaScript over the browser's WebSocket. Each packet travels as one
// binary WebSocket message, without the 4-byte length that framed TCP puts
// in front of it. The packets themselves are built and read by wire.js.
"use strict";

const NS = "/chat";
const ACK_TIMEOUT_MS = 5000;
const $ = (id) => document.getElementById(id);

let sock = null; // the WebSocket
let joined = false; // namespace joined
let nextAck = 1;
const pendingAcks = new Map(); // ack id -> {resolve, reject, timer}

function show(cls, ...parts) {
  const li = document.createElement("li");
  li.className = cls;
  for (const part of parts) li.append(part);
  $("log").append(li);
  li.scrollIntoView({ block: "end" });
  return li;
}

function span(cls, text) {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

function setStatus(text, on) {
  $("status").textContent = text;
  $("status").className = "status " + (on ? "on" : "off");
  $("text").disabled = $("send").disabled = !on;
}

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
  if (sock) sock.close(1000);
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  sock = new WebSocket(scheme + location.host + "/ws");
  sock.binaryType = "arraybuffer";
  const me = sock;
  setStatus("connecting…", false);

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
    joined = false;
    failPending("connection closed");
    setStatus("closed (" + ev.code + (ev.reason ? ": " + ev.reason : "") + ")", false);
    show("note", "connection closed, WebSocket status " + ev.code);
  };
}

function receive(p, name, room) {
  switch (p.type) {
    case TYPE.welcome:
      send(encodeConnect(NS, { name }));
      break;
    case TYPE.connect:
      joined = true;
      setStatus("connected as " + name, true);
      emit("join", [room])
        .then((a) => show("note", "joined room " + a[0].room + " (" + a[0].members + " here)"))
        .catch((err) => show("error", "join: " + err.message));
      break;
    case TYPE.connectError:
      show("error", "namespace refused: " + p.reason);
      break;
    case TYPE.ping:
      send(encodePong());
      break;
    case TYPE.event:
      if (p.name === "message" && p.args[0] && typeof p.args[0] === "object") {
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
      show("error", "server error " + p.code + ": " + p.reason);
      break;
  }
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = new URLSearchParams(location.search).get("token") || "";
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
      state.className = "ack";
      state.textContent = "✓ delivered to " + a[0].delivered;
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
