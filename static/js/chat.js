/* The live conversation page. Without this file (or while the socket is down) the page
   still works: the plain form posts and the server redirects back.

   Markup: #chat[data-live][data-ws-path][data-member][data-last-id][data-others-read]
   [data-time-zone]
   with [data-chat-log], [data-chat-form], [data-chat-status], [data-chat-typing].
   User text is only ever set with textContent: never parsed as HTML. */
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root || !("WebSocket" in window) || root.dataset.live === undefined) return;

  var log = root.querySelector("[data-chat-log]");
  var form = root.querySelector("[data-chat-form]");
  var statusLine = root.querySelector("[data-chat-status]");
  var typingLine = root.querySelector("[data-chat-typing]");
  var texts = root.dataset;
  var me = Number(root.dataset.member);
  var lastId = Number(root.dataset.lastId) || 0;
  var othersRead = Number(root.dataset.othersRead) || 0;
  var readSent = 0;
  var socket = null;
  var open = false;
  var attempts = 0;
  var reconnectTimer = null;
  var typingTimer = null;
  var lastTypingSent = 0;
  var stopped = false;
  var pending = {}; // client_id -> <li> shown before the server stored it

  function wsUrl() {
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + root.dataset.wsPath;
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    // Older browsers: a version-4 UUID from getRandomValues.
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function setStatus(text) {
    statusLine.textContent = text || "";
    statusLine.hidden = !text;
  }

  // "23 Nov, 09:37", like the server's "j M, H:i", and in the server's time zone: a
  // laptop set to another zone would otherwise show live messages an hour off from
  // the history rendered beside them.
  function timeLabel(iso) {
    var date = iso ? new Date(iso) : new Date();
    var lang = document.documentElement.lang || undefined;
    var options = { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
                    hourCycle: "h23", timeZone: root.dataset.timeZone || undefined };
    var format;
    try { format = new Intl.DateTimeFormat(lang, options); } catch (e) {
      delete options.timeZone; // a zone this browser does not know: its own
      format = new Intl.DateTimeFormat(lang, options);
    }
    var parts = {};
    format.formatToParts(date).forEach(function (part) { parts[part.type] = part.value; });
    return parts.day + " " + parts.month + ", " + parts.hour + ":" + parts.minute;
  }

  function scrollToEnd() {
    var last = log.lastElementChild;
    if (last && last.scrollIntoView) last.scrollIntoView({ block: "end" });
  }

  // One message as the page draws it (same structure as the template).
  function buildItem(message, own) {
    var li = document.createElement("li");
    li.className = "chat-msg" + (own ? " chat-msg-own" : "");
    var meta = document.createElement("div");
    meta.className = "chat-meta small muted";
    var sender = document.createElement("span");
    sender.className = "chat-sender";
    sender.textContent = own ? texts.textMe : (message.sender_name || "");
    var time = document.createElement("time");
    if (message.created_at) time.setAttribute("datetime", message.created_at);
    time.textContent = timeLabel(message.created_at);
    meta.appendChild(sender);
    meta.appendChild(document.createTextNode(" "));
    meta.appendChild(time);
    var body = document.createElement("p");
    body.className = "chat-body";
    body.textContent = message.body;
    li.appendChild(meta);
    li.appendChild(body);
    return li;
  }

  function markStored(li, id) {
    li.dataset.id = String(id);
    li.classList.remove("chat-msg-pending");
    var note = li.querySelector(".chat-pending-note");
    if (note) note.remove();
  }

  function addMessage(message) {
    if (log.querySelector('[data-id="' + message.id + '"]')) return; // already shown
    var own = message.sender === me;
    var li = message.client_id && pending[message.client_id];
    if (li) {
      delete pending[message.client_id];
      markStored(li, message.id);
    } else {
      var empty = log.querySelector("[data-chat-empty]");
      if (empty) empty.remove();
      li = buildItem(message, own);
      li.dataset.id = String(message.id);
      log.appendChild(li);
    }
    if (message.id > lastId) lastId = message.id;
    if (!own) typingLine.textContent = "";
    updateSeen();
    scrollToEnd();
    sendRead();
  }

  // "Seen" sits under my newest message once the other member has read it.
  function updateSeen() {
    var old = log.querySelector("[data-chat-seen]");
    var mine = log.querySelectorAll(".chat-msg-own[data-id]");
    var newest = mine.length ? mine[mine.length - 1] : null;
    var show = newest && Number(newest.dataset.id) <= othersRead;
    if (!show) { if (old) old.remove(); return; }
    if (old && old.parentNode === newest) return;
    if (old) old.remove();
    var seen = document.createElement("p");
    seen.className = "chat-seen small muted";
    seen.setAttribute("data-chat-seen", "");
    seen.textContent = texts.textSeen;
    newest.appendChild(seen);
  }

  function send(frame) {
    if (!open) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function sendRead() {
    if (document.visibilityState !== "visible" || lastId <= readSent) return;
    if (send({ type: "read", last_id: lastId })) readSent = lastId;
  }

  function connect() {
    reconnectTimer = null;
    socket = new WebSocket(wsUrl());
    socket.addEventListener("open", function () {
      open = true;
      attempts = 0;
      setStatus("");
      root.classList.add("chat-live");
      // Whatever arrived while we were away, in order; then anything still pending.
      send({ type: "resume", last_id: lastId });
      Object.keys(pending).forEach(function (clientId) {
        var li = pending[clientId];
        send({ type: "message", body: li.dataset.body, client_id: clientId });
      });
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "message") {
        addMessage(frame);
      } else if (frame.type === "ack") {
        var li = pending[frame.client_id];
        if (li) {
          delete pending[frame.client_id];
          markStored(li, frame.id);
          if (frame.id > lastId) lastId = frame.id;
          updateSeen();
        }
      } else if (frame.type === "typing") {
        showTyping(frame.name);
      } else if (frame.type === "seen") {
        if (frame.member !== me && frame.last_id > othersRead) {
          othersRead = frame.last_id;
          updateSeen();
        }
      } else if (frame.type === "resumed") {
        sendRead();
      } else if (frame.type === "error") {
        var failed = frame.client_id && pending[frame.client_id];
        if (failed) {
          delete pending[frame.client_id];
          failed.remove();
          // Give the text back so nothing typed is lost.
          if (form && !form.elements.body.value) form.elements.body.value = failed.dataset.body;
        }
        setStatus(frame.message);
      }
    });
    socket.addEventListener("close", function (event) {
      open = false;
      root.classList.remove("chat-live");
      // 4001: signed out elsewhere; 4003: no longer allowed. Reloading shows why.
      if (event.code === 4001 || event.code === 4003) { stopped = true; setStatus(""); return; }
      if (stopped) return;
      setStatus(texts.textOffline);
      scheduleReconnect();
    });
  }

  function scheduleReconnect() {
    if (reconnectTimer) return;
    // Exponential backoff with full jitter, capped at 30 s.
    var delay = Math.random() * Math.min(30000, 500 * Math.pow(2, attempts));
    attempts += 1;
    reconnectTimer = window.setTimeout(connect, delay);
  }

  function showTyping(name) {
    typingLine.textContent = (texts.textTyping || "").replace("%(name)s", name || "");
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(function () { typingLine.textContent = ""; }, 4000);
  }

  if (form) {
    var textarea = form.elements.body;
    form.addEventListener("submit", function (event) {
      // Socket down: the ordinary post goes through.
      if (!open) return;
      var body = textarea.value.trim();
      if (!body) return;
      event.preventDefault();
      var clientId = newClientId();
      var li = buildItem({ body: body, sender_name: texts.textMe }, true);
      li.classList.add("chat-msg-pending");
      li.dataset.body = body;
      var note = document.createElement("span");
      note.className = "chat-pending-note small muted";
      note.textContent = texts.textSending;
      li.appendChild(note);
      var empty = log.querySelector("[data-chat-empty]");
      if (empty) empty.remove();
      log.appendChild(li);
      pending[clientId] = li;
      send({ type: "message", body: body, client_id: clientId });
      textarea.value = "";
      setStatus("");
      scrollToEnd();
    });
    textarea.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTypingSent < 2000) return;
      lastTypingSent = now;
      send({ type: "typing" });
    });
    // Enter sends, Shift+Enter makes a new line (on keyboards that have them).
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    });
  }

  document.addEventListener("visibilitychange", sendRead);
  window.addEventListener("online", function () {
    if (!open && !stopped) { window.clearTimeout(reconnectTimer); reconnectTimer = null; attempts = 0; connect(); }
  });
  updateSeen();
  connect();
})();
