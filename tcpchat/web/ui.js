// wiredojo chat pages: what the WebSocket page (app.js) and the Socket.IO
// page (sio.js) share: the page's markup, the log, the status badge, the
// delivery note. It runs before app.js or sio.js, which find the markup.
"use strict";

const $ = (id) => document.getElementById(id);

// The markup both pages share goes in front of the page's own footer: the
// header with the status badge, the login form, the log and the compose
// form. A page names its variant in <body data-variant> ("socket.io"),
// shown after the title.
document.body.insertAdjacentHTML("afterbegin", `<header>
  <h1>wiredojo chat</h1>
  <span id="status" class="status off">not connected</span>
</header>
<form id="login">
  <label>Name <input id="name" value="guest" maxlength="64" required></label>
  <label>Room <input id="room" value="lobby" maxlength="255" required></label>
  <button id="join" type="submit">Join</button>
</form>
<ul id="log" aria-live="polite"></ul>
<form id="compose">
  <input id="text" placeholder="Type a message" autocomplete="off" disabled>
  <button id="send" type="submit" disabled>Send</button>
</form>
`);
if (document.body.dataset.variant) {
  const small = document.createElement("small");
  small.textContent = document.body.dataset.variant;
  document.querySelector("h1").append(" ", small);
}

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

// code is text in <code>: a command or a flag, kept on one line (style.css).
function code(text) {
  const c = document.createElement("code");
  c.textContent = text;
  return c;
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

