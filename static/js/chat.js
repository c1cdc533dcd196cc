/* The live conversation page. Without this file (or while the socket is down) the page
   still works: the plain form posts and the server redirects back.

   Markup: #chat[data-live][data-ws-path][data-member][data-last-id][data-others-read]
   [data-time-zone]
   with [data-chat-log], [data-chat-form], [data-chat-status], [data-chat-typing].
   User text is only ever set with textContent: never parsed as HTML.

   No message is lost: what the member sends stays "pending" (kept in localStorage, so a
   reload or a closed tab keeps it too) until the server acknowledges it by client_id.
   Pending messages go out one at a time, in order; an ack that does not come within
   ACK_TIMEOUT_MS means the socket is dead even if it looks open: it is closed, a new
   one resumes from the last id this page has and sends the pending ones again (same
   client_id: the server stores each once). Past twice that, the message reads "Not
   sent" with a Retry button; it is still sent by itself as soon as a socket opens. */
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
  var everOpen = false;
  var ACK_TIMEOUT_MS = 5000;
  var RETRY_LATER_MS = 4000;
  // client_id -> {clientId, body, li, since, failed}: shown, not yet stored. `queue`
  // keeps their order; `inFlight` is the one sent and waiting for its ack.
  var pending = {};
  var queue = [];
  var inFlight = null;
  var retryLaterTimer = null;
  var silentSockets = 0; // sockets given up on in a row for an ack that never came
  // Per member and conversation: another member signing in on this browser never sends
  // what the first one typed.
  var storageKey = "partage.chat.pending." + me + "." + root.dataset.wsPath;

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

  // Web addresses in a message become links, as the template's urlize does. Only
  // http(s) and www. addresses match, so no other scheme (javascript:) can be made a
  // link; the text itself still goes in with textContent, never as HTML.
  var LINK = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;
  var TRAILING = /[.,;:!?)\]'"]+$/;

  function fillBody(element, text) {
    var start = 0;
    text.replace(LINK, function (found, at) {
      var url = found.replace(TRAILING, "");
      if (!url) return found;
      element.appendChild(document.createTextNode(text.slice(start, at)));
      var link = document.createElement("a");
      link.href = /^www\./i.test(url) ? "http://" + url : url;
      link.rel = "nofollow";
      link.textContent = url;
      element.appendChild(link);
      start = at + url.length;
      return found;
    });
    element.appendChild(document.createTextNode(text.slice(start)));
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
    fillBody(body, message.body || "");
    li.appendChild(meta);
    li.appendChild(body);
    return li;
  }

  function markStored(li, id) {
    li.dataset.id = String(id);
    li.classList.remove("chat-msg-pending", "chat-msg-failed");
    var note = li.querySelector(".chat-pending-note");
    if (note) note.remove();
  }

  // --- Pending messages ----------------------------------------------------------------

  function save() {
    try {
      var kept = queue.map(function (id) { return { client_id: id, body: pending[id].body }; });
      if (kept.length) localStorage.setItem(storageKey, JSON.stringify(kept));
      else localStorage.removeItem(storageKey);
    } catch (e) { /* private mode or full: the page still holds them */ }
  }

  function showNote(entry) {
    var note = entry.li.querySelector(".chat-pending-note");
    if (!note) {
      note = document.createElement("span");
      note.className = "chat-pending-note small muted";
      entry.li.appendChild(note);
    }
    note.textContent = "";
    entry.li.classList.toggle("chat-msg-failed", entry.failed);
    if (!entry.failed) { note.textContent = texts.textSending; return; }
    note.appendChild(document.createTextNode(texts.textNotSent + " "));
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "link-button chat-retry";
    retry.textContent = texts.textRetry;
    retry.addEventListener("click", function () { retryNow(entry); });
    note.appendChild(retry);
  }

  function addPending(clientId, body) {
    var li = buildItem({ body: body, sender_name: texts.textMe }, true);
    li.classList.add("chat-msg-pending");
    li.dataset.body = body;
    li.dataset.clientId = clientId;
    var empty = log.querySelector("[data-chat-empty]");
    if (empty) empty.remove();
    log.appendChild(li);
    var entry = { clientId: clientId, body: body, li: li, since: Date.now(), failed: false };
    pending[clientId] = entry;
    queue.push(clientId);
    showNote(entry);
    save();
    return entry;
  }

  function forget(clientId) {
    delete pending[clientId];
    queue = queue.filter(function (id) { return id !== clientId; });
    if (inFlight && inFlight.clientId === clientId) inFlight = null;
    save();
  }

  // The next pending message goes out once the one before it is stored: one at a time,
  // so a message that has to be sent again never lands after the ones typed later.
  function sendNext() {
    if (!open || inFlight || retryLaterTimer || !queue.length) return;
    var entry = pending[queue[0]];
    inFlight = entry;
    entry.sentAt = Date.now();
    send({ type: "message", body: entry.body, client_id: entry.clientId });
  }

  function stored(clientId, id) {
    silentSockets = 0;
    var entry = pending[clientId];
    if (!entry) return;
    forget(clientId);
    var shown = log.querySelector('[data-id="' + id + '"]');
    if (shown && shown !== entry.li) entry.li.remove(); // already drawn (by a resume)
    else markStored(entry.li, id);
    // lastId stays where the messages received put it: an ack says nothing of the
    // others' messages stored before this one, which may still be on their way (or lost
    // with a socket); a resume from here asks for them, and for this one again
    // (already drawn, so skipped).
    updateSeen();
    sendNext();
  }

  function refused(clientId, message) {
    var entry = pending[clientId];
    if (!entry) return;
    forget(clientId);
    entry.li.remove();
    // Give the text back so nothing typed is lost (after what is there already).
    if (form) {
      var box = form.elements.body;
      box.value = box.value ? box.value + "\n" + entry.body : entry.body;
    }
    setStatus(message);
    sendNext();
  }

  function sendLater(clientId, message) {
    // Not stored this time (too fast, or the server's database was away): the same
    // message again in a few seconds, the ones behind it still waiting.
    if (inFlight && inFlight.clientId === clientId) inFlight = null;
    if (message) setStatus(message);
    window.clearTimeout(retryLaterTimer);
    retryLaterTimer = window.setTimeout(function () {
      retryLaterTimer = null;
      sendNext();
    }, RETRY_LATER_MS);
  }

  function retryNow(entry) {
    entry.failed = false;
    entry.since = Date.now();
    showNote(entry);
    window.clearTimeout(retryLaterTimer);
    retryLaterTimer = null;
    // A message that failed has waited on this socket already: a fresh one resumes
    // and sends what is pending (the server stores each client_id once).
    if (open) abandon(); else reconnectNow();
  }

  // Once a second: a dead-looking socket is replaced, and what waits too long says so.
  function watchPending() {
    var now = Date.now();
    if (open && inFlight && now - inFlight.sentAt > ACK_TIMEOUT_MS * (1 + silentSockets)) {
      // Open, but nothing comes back: the connection is gone without a close (a
      // phone changing networks, a proxy or a server that died). A close handshake
      // on a dead connection can take a minute: this socket is left to it and a new
      // one is opened now.
      abandon();
    }
    queue.forEach(function (id) {
      var entry = pending[id];
      if (!entry.failed && now - entry.since > 2 * ACK_TIMEOUT_MS) {
        entry.failed = true;
        showNote(entry);
      }
    });
  }

  function restorePending() {
    var kept;
    try { kept = JSON.parse(localStorage.getItem(storageKey) || "[]"); } catch (e) { kept = []; }
    if (!Array.isArray(kept)) return;
    kept.forEach(function (item) {
      if (!item || typeof item.body !== "string" || !/^[0-9a-f-]{36}$/i.test(item.client_id)) return;
      // Stored before the page was left: the history drawn by the server has it.
      if (log.querySelector('[data-client-id="' + item.client_id + '"]')) return;
      addPending(item.client_id, item.body);
    });
    save();
  }

  function addMessage(message) {
    if (log.querySelector('[data-id="' + message.id + '"]')) { // already shown
      if (message.id > lastId) lastId = message.id;
      return;
    }
    var own = message.sender === me;
    if (message.client_id && pending[message.client_id]) {
      stored(message.client_id, message.id); // another device of mine, or a resume
    } else {
      var empty = log.querySelector("[data-chat-empty]");
      if (empty) empty.remove();
      var li = buildItem(message, own);
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
    if (socket && socket.readyState < 2) return; // one socket at a time
    var current = new WebSocket(wsUrl());
    socket = current;
    current.addEventListener("open", function () {
      open = true;
      everOpen = true;
      attempts = 0;
      setStatus("");
      root.classList.add("chat-live");
      // Whatever arrived while we were away, in order; then what is still pending.
      send({ type: "resume", last_id: lastId });
      inFlight = null;
      sendNext();
    });
    current.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === "message") {
        addMessage(frame);
      } else if (frame.type === "ack") {
        stored(frame.client_id, frame.id);
      } else if (frame.type === "typing") {
        showTyping(frame.name);
      } else if (frame.type === "seen") {
        if (frame.member !== me && frame.last_id > othersRead) {
          othersRead = frame.last_id;
          updateSeen();
        }
      } else if (frame.type === "resumed") {
        // A long absence comes in several parts: ask for the next one.
        if (frame.more) send({ type: "resume", last_id: frame.last_id });
        else sendRead();
      } else if (frame.type === "error") {
        var known = typeof frame.client_id === "string" && pending[frame.client_id];
        if (!known && inFlight && (frame.code === "too_large" || frame.code === "bad_frame" ||
                                   frame.code === "bad_json")) {
          // Refused before it was read, so unnamed: it can only be the one in flight.
          refused(inFlight.clientId, frame.message);
          return;
        }
        if (!known) { setStatus(frame.message); return; }
        if (frame.code === "rate_limited" || frame.code === "unavailable") {
          sendLater(frame.client_id, frame.message);
        } else {
          refused(frame.client_id, frame.message);
        }
      }
    });
    current.addEventListener("close", function (event) {
      if (socket !== current) return; // an older socket, replaced already
      open = false;
      inFlight = null;
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

  function abandon() {
    var old = socket;
    socket = null;
    open = false;
    inFlight = null;
    root.classList.remove("chat-live");
    setStatus(texts.textOffline);
    try { old.close(4000); } catch (e) { /* already closing */ }
    // A server that accepts sockets but stores nothing (its database away) must not
    // get a new socket, resume and resend every ACK_TIMEOUT_MS from every page: each
    // silent socket in a row waits longer before the next (reset by the next ack).
    silentSockets += 1;
    window.clearTimeout(reconnectTimer);
    reconnectTimer = window.setTimeout(connect,
      Math.min(30000, 250 * Math.pow(2, silentSockets)) * Math.random());
  }

  function reconnectNow() {
    if (open || stopped) return;
    window.clearTimeout(reconnectTimer);
    reconnectTimer = null;
    attempts = 0;
    connect();
  }

  function showTyping(name) {
    typingLine.textContent = (texts.textTyping || "").replace("%(name)s", name || "");
    window.clearTimeout(typingTimer);
    typingTimer = window.setTimeout(function () { typingLine.textContent = ""; }, 4000);
  }

  if (form) {
    var textarea = form.elements.body;
    form.addEventListener("submit", function (event) {
      // A socket never opened (blocked by a network, say): the ordinary post goes
      // through. Once one has opened, a message typed while it reconnects waits here.
      if (!everOpen) return;
      var body = textarea.value.trim();
      if (!body) return;
      event.preventDefault();
      addPending(newClientId(), body);
      sendNext();
      textarea.value = "";
      if (open) setStatus("");
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
  window.addEventListener("online", reconnectNow);
  window.setInterval(watchPending, 1000);
  restorePending();
  updateSeen();
  connect();
})();
