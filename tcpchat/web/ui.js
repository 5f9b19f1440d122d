// wiredojo chat pages: what the WebSocket page (app.js) and the Socket.IO
// page (sio.js) share: the log, the status badge, the delivery note.
"use strict";

const $ = (id) => document.getElementById(id);

// show appends a line to the log, stamped with the local time.
function show(cls, ...parts) {
  const li = document.createElement("li");
  li.className = cls;
  const now = new Date();
  const time = document.createElement("time");
  time.dateTime = now.toISOString();
  time.textContent = now.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  li.append(time, " ");
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

// others says how many other members a message reached.
function others(n) {
  if (n === 0) return "delivered to nobody else";
  return "✓ delivered to " + n + (n === 1 ? " other" : " others");
}

