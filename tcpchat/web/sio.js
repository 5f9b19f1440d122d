// wiredojo chat page over Socket.IO: the official socket.io-client (the
// global `io` of /socket.io/socket.io.min.js) joins the chat's namespace
// /chat at the chat's /socket.io/. Events, acks and reconnection are the
// client's own; the built-in handlers (join, message, presence) answer as
// they do for every other client. The log and the status are ui.js's.
"use strict";

const NS = "/chat";
const ACK_TIMEOUT_MS = 5000;

let socket = null; // the socket.io-client Socket

// transport names what carries the session now: "polling" at first, then
// "websocket" once the client has upgraded.
function transport() {
  return socket && socket.io.engine ? socket.io.engine.transport.name : "";
}

function connect(name, room, token) {
  if (socket) socket.disconnect();
  if (typeof io !== "function") {
    setStatus("no socket.io client", false);
    show("error", code("/socket.io/socket.io.min.js"), " is not served: start the server with ", code("wiredojo chat serve"), " ",
      code("--socketio-client DIR"), " (DIR: a ", code("node_modules"), " with ", code("socket.io-client"), ")");
    return;
  }
  setStatus("connecting…", false);
  let joinedOnce = false;
  // presence: hear who joins and leaves; token: the server's access token.
  socket = io(NS, { auth: { name, presence: true, token }, reconnectionDelay: 500, reconnectionDelayMax: 10000 });
  socket.io.on("open", () => {
    socket.io.engine.once("upgrade", (t) => {
      setStatus("connected as " + name + " (" + t.name + ")", socket.connected);
      show("note", "upgraded to " + t.name);
    });
  });
  socket.io.on("reconnect_attempt", (n) => setStatus("reconnecting… (attempt " + n + ")", false));
  socket.on("connect", () => {
    setStatus("connected as " + name + " (" + transport() + ")", true);
    socket.timeout(ACK_TIMEOUT_MS).emit("join", room, (err, a) => {
      if (err) return show("error", "join: " + err.message);
      show("note", (joinedOnce ? "reconnected; " : "") + "joined room " + a.room + " (" + a.members + " here)");
      joinedOnce = true;
    });
  });
  socket.on("connect_error", (err) => {
    setStatus("not connected", false);
    show("error", "connect: " + err.message);
  });
  socket.on("disconnect", (reason) => {
    setStatus("disconnected (" + reason + ")", false);
    show("note", "connection lost (" + reason + ")" + (socket.active ? "; reconnecting" : ""));
  });
  for (const ev of ["joined", "left"]) {
    socket.on(ev, (who) => show("note presence", who.name + " " + ev + " " + who.room + " (" + who.members + " here)"));
  }
  socket.on("message", (m) => {
    if (m && typeof m === "object") show("msg", span("from", m.from), ": " + (m.text ?? JSON.stringify(m.data)));
    else show("event", span("from", "message"), " " + JSON.stringify(m));
  });
}

$("login").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const token = new URLSearchParams(location.search).get("token") || "";
  connect($("name").value.trim() || "guest", $("room").value.trim() || "lobby", token);
});

$("compose").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("text").value;
  if (!text || !socket || !socket.connected) return;
  $("text").value = "";
  const li = show("msg mine", span("from", $("name").value.trim() || "guest"), ": " + text);
  const state = span("pending", "sending…");
  li.append(state);
  socket.timeout(ACK_TIMEOUT_MS).emit("message", text, (err, a) => {
    if (!err && a && a.error) err = new Error(a.error);
    if (err) {
      state.className = "error";
      state.textContent = "✗ " + err.message;
      return;
    }
    state.className = a.delivered ? "ack" : "pending";
    state.textContent = others(a.delivered);
  });
});

// A link such as /sio.html?name=ann&room=lobby fills the form and joins.
const params = new URLSearchParams(location.search);
if (params.get("name")) $("name").value = params.get("name");
if (params.get("room")) $("room").value = params.get("room");
if (params.get("name") && params.get("room")) $("login").requestSubmit();
