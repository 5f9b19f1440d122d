// wiredojo chat page: the event protocol of docs/PROTOCOL.md spoken by
// plain JavaScript over the browser's WebSocket. Each packet travels as one
// binary WebSocket message, without the 4-byte length that framed TCP puts
// in front of it. The Go code for the same packets is tcpchat/wire.
"use strict";

// ---- Packets --------------------------------------------------------------

// The first byte of every packet (docs/PROTOCOL.md, "Packet layout").
const TYPE = {
  handshake: 0x48, // 'H'
  welcome: 0x57, // 'W'
  connect: 0x43, // 'C'
  connectError: 0x58, // 'X'
  disconnect: 0x44, // 'D'
  event: 0x45, // 'E'
  ack: 0x41, // 'A'
  ping: 0x50, // 'P'
  pong: 0x4f, // 'O'
  error: 0x21, // '!'
};
const FLAG_ACK = 1; // event: an ack id follows the event name
const VERSION = 1;

const utf8 = new TextEncoder();
const fromUTF8 = new TextDecoder("utf-8", { fatal: true });

// PacketWriter appends fields; every packet starts with type, flags and
// the namespace (a str8: one length byte, then that many bytes).
class PacketWriter {
  constructor(type, flags, ns) {
    this.bytes = [];
    this.u8(type);
    this.u8(flags);
    this.str8(ns);
  }
  u8(v) { this.bytes.push(v & 0xff); }
  u16(v) { this.u8(v >>> 8); this.u8(v); }
  u32(v) { this.u16(v >>> 16); this.u16(v & 0xffff); }
  u64(v) { this.u32(Math.floor(v / 2 ** 32)); this.u32(v >>> 0); } // exact below 2^53
  raw(b) { for (const x of b) this.bytes.push(x); }
  str8(s) {
    const b = utf8.encode(s);
    if (b.length > 255) throw new Error("text longer than 255 bytes: " + s.slice(0, 20) + "…");
    this.u8(b.length);
    this.raw(b);
  }
  rest(s) { this.raw(utf8.encode(s)); } // the remaining bytes of the packet
  done() { return new Uint8Array(this.bytes); }
}

// PacketReader takes fields from the front of a received packet; it throws
// on a truncated packet, as the Go decoder refuses one.
class PacketReader {
  constructor(buffer) {
    this.b = new Uint8Array(buffer);
    this.i = 0;
  }
  take(n) {
    if (this.i + n > this.b.length) throw new Error("truncated packet");
    const part = this.b.subarray(this.i, this.i + n);
    this.i += n;
    return part;
  }
  u8() { return this.take(1)[0]; }
  u16() { const b = this.take(2); return (b[0] << 8) | b[1]; }
  u32() { const b = this.take(4); return ((b[0] << 24) >>> 0) + ((b[1] << 16) | (b[2] << 8) | b[3]); }
  str8() { return fromUTF8.decode(this.take(this.u8())); }
  rest() { return fromUTF8.decode(this.take(this.b.length - this.i)); }
  json() { const s = this.rest(); return s === "" ? [] : JSON.parse(s); } // empty args mean []
}

// encodeHandshake is the client's first packet: version, client id, session
// id (both empty: the server assigns them), resume offset, token.
function encodeHandshake(token) {
  const w = new PacketWriter(TYPE.handshake, 0, "");
  w.u8(VERSION);
  w.str8(""); // client id
  w.str8(""); // session id
  w.u64(0); // resume offset
  const t = utf8.encode(token);
  w.u16(t.length);
  w.raw(t);
  return w.done();
}

// encodeConnect joins a namespace: an empty socket id, then the auth JSON.
function encodeConnect(ns, auth) {
  const w = new PacketWriter(TYPE.connect, 0, ns);
  w.str8("");
  w.rest(JSON.stringify(auth));
  return w.done();
}

// encodeEvent: the event name, the ack id when one is wanted, the
// arguments as a JSON array.
function encodeEvent(ns, name, args, ackId) {
  const w = new PacketWriter(TYPE.event, ackId === undefined ? 0 : FLAG_ACK, ns);
  w.str8(name);
  if (ackId !== undefined) w.u32(ackId);
  w.rest(JSON.stringify(args));
  return w.done();
}

function encodePong() { return new PacketWriter(TYPE.pong, 0, "").done(); }

// decode turns a received packet into an object; only the types a server
// sends to this page are decoded, the others are reported as unknown.
function decode(buffer) {
  const r = new PacketReader(buffer);
  const p = { type: r.u8(), flags: r.u8() };
  p.ns = r.str8();
  switch (p.type) {
    case TYPE.welcome:
      p.version = r.u8();
      p.clientId = r.str8();
      p.sessionId = r.str8();
      p.pingInterval = r.u32(); // milliseconds
      p.pingTimeout = r.u32();
      p.maxFrame = r.u32();
      break;
    case TYPE.connect:
      p.socketId = r.str8();
      break;
    case TYPE.connectError:
    case TYPE.disconnect:
      p.reason = r.rest();
      break;
    case TYPE.event:
      p.name = r.str8();
      if (p.flags & FLAG_ACK) p.ackId = r.u32();
      p.args = r.json();
      break;
    case TYPE.ack:
      p.ackId = r.u32();
      p.args = r.json();
      break;
    case TYPE.ping:
      break;
    case TYPE.error:
      p.code = r.u16();
      p.reason = r.rest();
      break;
    default:
      p.unknown = true;
  }
  return p;
}

// ---- Chat -----------------------------------------------------------------

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
