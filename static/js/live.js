/*
 * Live notifications for signed-in members: one websocket per page to
 * /ws/notifications/ (the URL is on <body data-live-url>).
 *
 * - Keeps [data-live-count="notifications"|"messages"] badges in step on every device,
 *   hiding a badge at zero and rewording its [data-live-label] text for screen readers.
 * - Shows a small toast (role=status) for each new notification, built with textContent
 *   only: nothing received is ever parsed as HTML.
 * - Reconnects by itself with exponential backoff and jitter, says when it is offline,
 *   and stops for good when the server closes with 4001 (signed out, password changed).
 * - Sends a heartbeat every minute so the server knows this member is looking (emails
 *   are only sent to members who are not), and when the page comes back into view. A
 *   heartbeat the server does not answer within BEAT_TIMEOUT_MS means the socket died
 *   without a close (a phone that changed networks): a new one is opened, and the
 *   counts it receives first bring the page up to date.
 * Every frame is also re-dispatched as a "partage:live" event on document, so other
 * scripts (the chat) can follow the counts without a second socket; "conversation"
 * (a new message somewhere) and "counts" frames also as "partage:conversations", which
 * the inbox listens to (htmx) to refresh its rows; "counts" also as "partage:notifications"
 * (the notification list); "exchange" (a deal moved) as "partage:exchanges" (the lists of
 * deals) and "partage:exchange-<id>" (that deal's page). Each time a socket opens,
 * "partage:resync": pages that follow live state fetch it again, as what changed while
 * no socket was open reached none.
 * Without JavaScript the page still shows the counts it was rendered with.
 */
(function () {
  "use strict";

  var body = document.body;
  var path = body && body.getAttribute("data-live-url");
  if (!path || !("WebSocket" in window)) return;

  var CLOSE_SIGNED_OUT = 4001;
  var HEARTBEAT_MS = 60000;
  var BEAT_TIMEOUT_MS = 10000;
  var BACKOFF_FIRST_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var TOAST_MS = 10000;
  var MAX_TOASTS = 3;

  var strings = document.getElementById("live-strings");
  function text(name, fallback) {
    var value = strings && strings.getAttribute("data-" + name);
    return value || fallback;
  }

  var socket = null;
  var attempts = 0;
  var retryTimer = null;
  var heartbeatTimer = null;
  var stopped = false;
  var everConnected = false;
  var beatSentAt = 0; // a heartbeat waiting for its answer

  // -- Counts ---------------------------------------------------------------------------

  function setCount(name, value) {
    var n = Math.max(0, parseInt(value, 10) || 0);
    document.querySelectorAll('[data-live-count="' + name + '"]').forEach(function (el) {
      el.textContent = n > 99 ? "99+" : String(n);
      el.hidden = n === 0;
    });
    var label = n === 0 ? text("label-" + name + "-zero", "")
      : n === 1 ? text("label-" + name + "-one", "")
      : text("label-" + name + "-other", "");
    if (label) {
      document.querySelectorAll('[data-live-label="' + name + '"]').forEach(function (el) {
        el.textContent = label.replace("{n}", String(n));
      });
    }
  }

  // -- Toasts -----------------------------------------------------------------------------

  var toasts = null;
  function toastArea() {
    if (!toasts) {
      toasts = document.createElement("div");
      toasts.className = "live-toasts";
      toasts.setAttribute("role", "status");
      toasts.setAttribute("aria-live", "polite");
      body.appendChild(toasts);
    }
    return toasts;
  }

  function isLocalPath(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" &&
      url.indexOf("\\") === -1;
  }

  function showToast(notification) {
    var area = toastArea();
    while (area.children.length >= MAX_TOASTS) area.removeChild(area.firstChild);
    var toast = document.createElement("div");
    toast.className = "live-toast" + (notification.needs_action ? " live-toast-action" : "");
    var message = document.createElement("p");
    message.textContent = String(notification.text || "");
    toast.appendChild(message);
    var actions = document.createElement("div");
    actions.className = "live-toast-actions";
    if (isLocalPath(notification.url)) {
      var link = document.createElement("a");
      link.href = notification.url;
      link.textContent = text("open", "Open");
      actions.appendChild(link);
    }
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "link-button";
    dismiss.textContent = text("dismiss", "Dismiss");
    dismiss.addEventListener("click", function () { toast.remove(); });
    actions.appendChild(dismiss);
    toast.appendChild(actions);
    area.appendChild(toast);
    var timer = setTimeout(function () { toast.remove(); }, TOAST_MS);
    // Someone reading or about to click keeps it on screen.
    toast.addEventListener("focusin", function () { clearTimeout(timer); });
    toast.addEventListener("mouseenter", function () { clearTimeout(timer); });
  }

  // -- Offline notice ------------------------------------------------------------------------

  var notice = null;
  function setOffline(offline) {
    if (offline && !notice) {
      notice = document.createElement("p");
      notice.className = "live-offline";
      notice.setAttribute("role", "status");
      notice.textContent = text("offline", "You are offline. Reconnecting…");
      body.appendChild(notice);
    } else if (!offline && notice) {
      notice.remove();
      notice = null;
    }
  }

  // -- Socket --------------------------------------------------------------------------------

  function url() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + path;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
  }

  function beat() {
    if (!socket || socket.readyState !== WebSocket.OPEN || beatSentAt) return;
    beatSentAt = Date.now();
    send({ type: "heartbeat" });
  }

  function watchBeat() {
    if (!beatSentAt || Date.now() - beatSentAt < BEAT_TIMEOUT_MS) return;
    // The close handshake of a dead connection can take a minute: this socket is
    // left to it and a new one opened now.
    var old = socket;
    socket = null;
    beatSentAt = 0;
    clearInterval(heartbeatTimer);
    if (old) { try { old.close(4000); } catch (error) { /* already closing */ } }
    setOffline(true);
    attempts = 0;
    connect();
  }

  function onFrame(event) {
    beatSentAt = 0; // anything from the server shows the socket is alive
    var frame;
    try { frame = JSON.parse(event.data); } catch (error) { return; }
    if (!frame || typeof frame !== "object") return;
    if (frame.type === "counts") {
      if ("notifications" in frame) setCount("notifications", frame.notifications);
      if ("messages" in frame) setCount("messages", frame.messages);
    } else if (frame.type === "notification") {
      showToast(frame);
    }
    document.dispatchEvent(new CustomEvent("partage:live", { detail: frame }));
    if (frame.type === "conversation" || frame.type === "counts") {
      // A conversation moved or was read somewhere: the inbox fetches its rows again.
      document.dispatchEvent(new CustomEvent("partage:conversations", { detail: frame }));
    }
    if (frame.type === "counts") {
      // A notification arrived, was read or settled: the notification list follows.
      document.dispatchEvent(new CustomEvent("partage:notifications", { detail: frame }));
    }
    if (frame.type === "exchange" && /^[0-9]+$/.test(String(frame.id))) {
      // A deal moved: the lists of deals, and that deal's own page, fetch themselves.
      document.dispatchEvent(new CustomEvent("partage:exchanges", { detail: frame }));
      document.dispatchEvent(new CustomEvent("partage:exchange-" + frame.id, { detail: frame }));
    }
  }

  function scheduleReconnect() {
    if (stopped || retryTimer) return;
    // Full jitter: many pages reconnecting after a restart do not all knock at once.
    var ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempts));
    var delay = ceiling / 2 + Math.random() * ceiling / 2;
    attempts += 1;
    retryTimer = setTimeout(function () { retryTimer = null; connect(); }, delay);
  }

  function connect() {
    if (stopped) return;
    if (socket && (socket.readyState === WebSocket.OPEN ||
                   socket.readyState === WebSocket.CONNECTING)) return;
    try {
      socket = new WebSocket(url());
    } catch (error) {
      scheduleReconnect();
      return;
    }
    var current = socket;
    current.addEventListener("open", function () {
      attempts = 0;
      everConnected = true;
      beatSentAt = 0;
      setOffline(false);
      clearInterval(heartbeatTimer);
      heartbeatTimer = setInterval(beat, HEARTBEAT_MS);
      // From now on every change reaches this socket; what changed before it opened
      // (while offline, or since the page was rendered) the page asks the server for.
      document.dispatchEvent(new CustomEvent("partage:resync"));
    });
    current.addEventListener("message", function (event) {
      if (socket === current) onFrame(event);
    });
    current.addEventListener("close", function (event) {
      if (socket !== current) return; // given up on already, and replaced
      clearInterval(heartbeatTimer);
      socket = null;
      if (event.code === CLOSE_SIGNED_OUT) {
        // The session ended elsewhere: reloading is the only way back in.
        stopped = true;
        setOffline(false);
        return;
      }
      if (everConnected) setOffline(true);
      scheduleReconnect();
    });
  }

  function reconnectNow() {
    if (stopped || (socket && socket.readyState <= WebSocket.OPEN)) return;
    clearTimeout(retryTimer);
    retryTimer = null;
    attempts = 0;
    connect();
  }

  window.addEventListener("online", reconnectNow);
  window.addEventListener("offline", function () { if (everConnected) setOffline(true); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    reconnectNow();
    beat(); // back from a pocket: is the socket still alive?
  });
  setInterval(watchBeat, 1000);
  // Leaving the page is not going offline.
  window.addEventListener("pagehide", function () {
    stopped = true;
    if (socket) socket.close(1000);
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { stopped = false; reconnectNow(); }
  });

  connect();
})();
