// wire.js: the packets of wiredojo's event protocol (docs/PROTOCOL.md,
// "Packet layout") in plain JavaScript, the twin of the Go package
// tcpchat/wire. app.js uses it; tcpchat's tests run it under Node against the
// Go encoder and decoder.
"use strict";

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
