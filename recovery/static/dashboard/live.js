/* Live flags over the websocket /ws/events/.

   The page asks its own server for a short-lived access token (POST, CSRF, session) and
   sends it as the first message {"type": "auth", "token": ...}: never in the URL. New
   flags arrive as {"type": "notification", "kind": "flag_raised", "payload": {...}}, for
   counselors and supervisors alike (the one event shape). Each new flag is fetched as a server-
   rendered row and put in its place in the queue, highlighted, announced to screen
   readers, and for urgent and crisis flags a short beep sounds. Notifications are
   acknowledged once shown. When anyone acknowledges, assigns, resolves or reopens a flag,
   {"kind": "flag_changed", "payload": {flag_id, status, action, ...}} follows: its toast
   goes once the flag is acknowledged or resolved, its row is redrawn, dropped from the open
   queue when resolved, dropped from the history and put back in the queue when reopened.
   The socket reconnects with backoff and resumes after the last
   event id seen; the server also replays whatever was not acknowledged. */
(function () {
  "use strict";

  const Dashboard = (window.Dashboard = window.Dashboard || {});
  const URGENT = 30;
  const CRISIS = 40;
  const FLAG_KINDS = { flag_raised: true, flag_escalated: true };

  let socket = null;
  let attempt = 0;
  let lastEventId = null;
  let stopped = false;
  let retryTimer = null;
  let newCount = 0;
  const seenEvents = new Set();
  const seenFlags = new Set();

  function body() {
    return document.body;
  }

  function setState(state, text) {
    const el = document.getElementById("live-state");
    if (!el) return;
    el.dataset.state = state;
    el.textContent = text;
    body().dataset.live = state;
  }

  /* --- sound ------------------------------------------------------------------------ */

  let audio = null;

  function soundOn() {
    const toggle = document.getElementById("sound-toggle");
    return !toggle || toggle.checked;
  }

  function audioContext() {
    if (!audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      audio = new Context();
    }
    return audio;
  }

  /* Browsers start audio only after a user gesture: unlock on the first one. */
  function unlockAudio() {
    const ctx = audioContext();
    if (ctx && ctx.state === "suspended") ctx.resume();
  }

  Dashboard.beep = function (severity) {
    body().dataset.lastBeep = String(severity);
    if (!soundOn()) return false;
    const ctx = audioContext();
    if (!ctx) return false;
    if (ctx.state === "suspended") ctx.resume();
    const crisis = severity >= CRISIS;
    const pulses = crisis ? 3 : 2;
    for (let i = 0; i < pulses; i += 1) {
      const start = ctx.currentTime + 0.05 + i * 0.28;
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = crisis ? 1046 : 880;
      gain.gain.setValueAtTime(0.0001, start);
      gain.gain.exponentialRampToValueAtTime(0.25, start + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.2);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(start);
      osc.stop(start + 0.22);
    }
    return true;
  };

  /* --- flags on the page ------------------------------------------------------------- */

  function rowUrl(flagId) {
    const template = body().dataset.flagRowUrl || "/dashboard/flags/0/row/";
    const url = template.replace(/\/0\/row\/$/, "/" + encodeURIComponent(flagId) + "/row/");
    return url + "?next=" + encodeURIComponent(window.location.pathname + window.location.search);
  }

  async function fetchRow(flagId) {
    const response = await fetch(rowUrl(flagId), {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    });
    if (!response.ok || response.redirected) return null;
    return Dashboard.fragment(await response.text());
  }

  function updateEmpty(container) {
    const wrap = container.closest(".table-wrap");
    if (!wrap) return;
    const any = container.rows.length > 0;
    wrap.hidden = !any;
    const empty = wrap.parentElement.querySelector("[data-flags-empty]");
    if (empty) empty.hidden = any;
  }

  /* Most severe first, then oldest first: the server's order. */
  function place(container, row) {
    const severity = Number(row.dataset.severity);
    const created = Number(row.dataset.created);
    const existing = container.querySelector('[data-flag-id="' + row.dataset.flagId + '"]');
    if (existing) {
      existing.replaceWith(row);
      return;
    }
    const before = Array.from(container.rows).find(function (other) {
      const s = Number(other.dataset.severity);
      const c = Number(other.dataset.created);
      return s < severity || (s === severity && c > created);
    });
    container.insertBefore(row, before || null);
  }

  function markSeen(row) {
    row.addEventListener(
      "focusin",
      function () {
        window.setTimeout(function () {
          row.classList.remove("is-new");
        }, 4000);
      },
      { once: true }
    );
  }

  function toast(text, severity, flagId) {
    const section = document.getElementById("flag-toasts");
    if (!section) return;
    const list = section.querySelector("[data-toast-list]");
    const item = document.createElement("li");
    item.className = "toast";
    if (flagId) item.dataset.flagId = String(flagId);
    const label = document.createElement("span");
    label.className = "sev sev--" + severityClass(severity);
    label.textContent = severityName(severity);
    const p = document.createElement("p");
    p.textContent = text + " ";
    const flagsUrl = body().dataset.flagsUrl;
    if (flagsUrl && !document.querySelector("tbody[data-flag-rows]")) {
      const link = document.createElement("a");
      link.href = flagsUrl;
      link.textContent = "Open the flag queue";
      p.appendChild(link);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link-button";
    close.textContent = "Dismiss";
    close.addEventListener("click", function () {
      item.remove();
      if (!list.children.length) section.hidden = true;
    });
    item.append(label, p, close);
    list.prepend(item);
    while (list.children.length > 4) list.lastElementChild.remove();
    section.hidden = false;
  }

  function dropToasts(flagId) {
    const section = document.getElementById("flag-toasts");
    if (!section) return;
    const list = section.querySelector("[data-toast-list]");
    list.querySelectorAll('[data-flag-id="' + flagId + '"]').forEach(function (item) {
      item.remove();
    });
    if (!list.children.length) section.hidden = true;
  }

  /* Someone (here, in another tab, or another person) acted on a flag. */
  async function flagChanged(payload) {
    const flagId = Number(payload.flag_id);
    if (!flagId) return;
    const status = String(payload.status || "");
    if (status !== "open") dropToasts(flagId);
    if (status !== "resolved") {
      document.querySelectorAll('[data-resolved-flag-id="' + flagId + '"]').forEach(function (row) {
        const container = row.parentElement;
        row.remove();
        updateEmpty(container);
      });
    }
    const containers = Array.from(document.querySelectorAll("tbody[data-flag-rows]"));
    const selector = '[data-flag-id="' + flagId + '"]';
    if (status === "resolved") {
      containers.forEach(function (container) {
        const row = container.querySelector(selector);
        if (!row) return;
        row.remove();
        updateEmpty(container);
      });
      return;
    }
    const assigned = payload.assigned_to === null || payload.assigned_to === undefined ? "" : String(payload.assigned_to);
    // Rows already showing this state (the tab that acted redrew its own) keep their focus.
    const stale = containers.filter(function (container) {
      const row = container.querySelector(selector);
      if (!row) return payload.action === "reopened";
      return row.dataset.status !== status || row.dataset.assignedTo !== assigned;
    });
    if (!stale.length) return;
    let fresh = null;
    try {
      fresh = await fetchRow(flagId);
    } catch (_) {
      fresh = null;
    }
    if (!fresh) return;
    seenFlags.add(flagId);
    stale.forEach(function (container) {
      const only = container.dataset.enrollmentId;
      if (only && only !== String(payload.enrollment_id)) return;
      const existing = container.querySelector(selector);
      if (!existing && !matchesFilters(container.dataset, fresh.dataset)) return;
      const copy = fresh.cloneNode(true);
      if (existing && existing.classList.contains("is-new")) copy.classList.add("is-new");
      const hadFocus = existing && existing.contains(document.activeElement);
      place(container, copy);
      updateEmpty(container);
      if (hadFocus) copy.focus();
    });
    if (payload.action === "reopened") {
      Dashboard.announce(
        "Flag reopened: " + fresh.dataset.kindLabel + ", " + fresh.dataset.patientName + "."
      );
    }
  }

  function severityClass(severity) {
    if (severity >= CRISIS) return "crisis";
    if (severity >= URGENT) return "urgent";
    if (severity >= 20) return "warning";
    return "info";
  }

  function severityName(severity) {
    const name = severityClass(severity);
    return name.charAt(0).toUpperCase() + name.slice(1);
  }

  function bumpCounter() {
    const badge = document.getElementById("new-flag-count");
    if (!badge || document.querySelector('#main tbody[data-flag-rows]:not([data-enrollment-id])')) return;
    newCount += 1;
    badge.querySelector("[data-count]").textContent = String(newCount);
    badge.hidden = false;
  }

  async function showFlag(payload, escalated) {
    const flagId = Number(payload.flag_id);
    if (!flagId) return;
    if (seenFlags.has(flagId) && !escalated) return;
    seenFlags.add(flagId);
    const severity = Number(payload.severity) || 0;
    let row = null;
    try {
      row = await fetchRow(flagId);
    } catch (_) {
      row = null;
    }
    const name = row ? row.dataset.patientName : "a patient";
    const kind = row ? row.dataset.kindLabel : String(payload.kind || "flag").replace(/_/g, " ");
    const text = (escalated ? "Escalated " : "New ") + severityName(severity).toLowerCase() +
      " flag: " + kind + ", " + name + ".";
    if (row) {
      document.querySelectorAll("tbody[data-flag-rows]").forEach(function (container) {
        const only = container.dataset.enrollmentId;
        if (only && only !== String(payload.enrollment_id)) return;
        if (!matchesFilters(container.dataset, row.dataset)) return;
        const copy = row.cloneNode(true);
        copy.classList.add("is-new");
        markSeen(copy);
        place(container, copy);
        updateEmpty(container);
      });
    }
    toast(text, severity, flagId);
    bumpCounter();
    Dashboard.announce(text, severity >= URGENT);
    if (severity >= URGENT) Dashboard.beep(severity);
    document.dispatchEvent(new CustomEvent("dashboard:flag", { detail: payload }));
  }

  // The queue's filters (flags.html) hold for flags that arrive live as well.
  function matchesFilters(filters, flag) {
    if (filters.filterSeverity && filters.filterSeverity !== flag.severity) return false;
    if (filters.filterKind && filters.filterKind !== flag.kind) return false;
    if (filters.filterEscalated && !flag.escalated) return false;
    if (filters.filterAssigned === "nobody" && flag.assignedTo) return false;
    if (filters.filterAssigned === "me" && flag.assignedTo !== filters.userId) return false;
    return true;
  }

  /* --- the socket -------------------------------------------------------------------- */

  async function fetchToken() {
    const url = body().dataset.tokenUrl;
    const result = await Dashboard.postJSON(url, null);
    if (result.response.status === 403 || result.response.status === 404) {
      const error = new Error("refused");
      error.signedOut = true;
      throw error;
    }
    if (!result.response.ok || !result.data || !result.data.token) throw new Error("no token");
    return result.data.token;
  }

  function send(ws, message) {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  }

  function stop(text) {
    stopped = true;
    window.clearTimeout(retryTimer);
    setState("stopped", text);
    if (socket) socket.close();
  }

  function retry(quick) {
    if (stopped) return;
    setState("offline", "Live updates: reconnecting");
    const base = quick ? 300 : Math.min(30000, 1000 * Math.pow(2, attempt));
    attempt += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(connect, delay);
  }

  function handle(ws, message) {
    if (message.type === "ready") {
      attempt = 0;
      setState("live", "Live updates on");
      /* The server replays what was not acknowledged; also ask for anything after the
         last event seen here, which another tab may have acknowledged meanwhile. */
      if (lastEventId !== null) send(ws, { type: "resume", after: lastEventId });
      /* Whatever was missed while offline: pages refresh what they show (unread.js). */
      document.dispatchEvent(new CustomEvent("dashboard:live-ready"));
      return;
    }
    if (message.type === "notification") {
      if (typeof message.id === "number") {
        if (seenEvents.has(message.id)) return;
        seenEvents.add(message.id);
        lastEventId = lastEventId === null ? message.id : Math.max(lastEventId, message.id);
      }
      if (message.kind === "flag_changed" && message.payload) {
        flagChanged(message.payload).finally(function () {
          if (typeof message.id === "number") send(ws, { type: "ack", ids: [message.id] });
        });
      } else if (FLAG_KINDS[message.kind] && message.payload) {
        showFlag(message.payload, message.kind === "flag_escalated").finally(function () {
          if (typeof message.id === "number") send(ws, { type: "ack", ids: [message.id] });
        });
      }
      /* Every other kind to whichever page script wants it (unread.js: care_message). */
      document.dispatchEvent(new CustomEvent("dashboard:notification", { detail: message }));
    }
  }

  async function connect() {
    if (stopped) return;
    setState("connecting", "Live updates: connecting");
    let token;
    try {
      token = await fetchToken();
    } catch (error) {
      if (error && error.signedOut) {
        stop("Live updates stopped: signed out. Reload to sign in again.");
      } else {
        retry(false);
      }
      return;
    }
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(scheme + window.location.host + "/ws/events/");
    socket = ws;
    let ready = false;
    ws.addEventListener("open", function () {
      send(ws, { type: "auth", token: token });
    });
    ws.addEventListener("message", function (event) {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      if (message.type === "ready") ready = true;
      handle(ws, message);
    });
    ws.addEventListener("close", function (event) {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4403) {
        stop("Live updates stopped: signed out. Reload to sign in again.");
        return;
      }
      /* 4401: the token ran out; fetch a new one at once. Anything else: back off. */
      if (!ready) attempt = Math.max(attempt, 1);
      retry(event.code === 4401 && ready);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!body().dataset.tokenUrl || !("WebSocket" in window)) return;
    document.querySelectorAll("[data-flag-id]").forEach(function (row) {
      seenFlags.add(Number(row.dataset.flagId));
    });
    document.addEventListener("dashboard:row-removed", function (event) {
      const container = event.detail && event.detail.container;
      if (container && container.matches("tbody[data-flag-rows]")) updateEmpty(container);
    });
    const toggle = document.getElementById("sound-toggle");
    if (toggle) {
      toggle.checked = window.localStorage.getItem("dashboard.sound") !== "off";
      toggle.addEventListener("change", function () {
        window.localStorage.setItem("dashboard.sound", toggle.checked ? "on" : "off");
        if (toggle.checked) unlockAudio();
      });
    }
    document.addEventListener("pointerdown", unlockAudio, { once: true });
    document.addEventListener("keydown", unlockAudio, { once: true });
    window.addEventListener("online", function () {
      if (!socket && !stopped) retry(true);
    });
    connect();
  });
})();
