/* The caseload's unread message counts, kept current without a reload.

   A patient's message reaches the counselor's socket as a `care_message` notification
   (ids only: {"enrollment_id", "message_id"}); live.js hands every notification on as a
   "dashboard:notification" event. The count itself is asked of the server
   (/dashboard/unread/?patient=<id>): a message from a colleague or an automatic answer
   also arrives as a care_message but is not unread for anyone, and a replayed event must
   not count twice. When the counselor comes back to the tab (having read a conversation
   elsewhere) and when the socket reconnects, every row on the page is asked again. */
(function () {
  "use strict";

  const Dashboard = (window.Dashboard = window.Dashboard || {});
  const pending = new Set();
  let timer = null;

  function rows() {
    return Array.from(document.querySelectorAll("#caseload-table tr[data-patient-id]"));
  }

  function badgeOf(patientId) {
    const row = document.querySelector(
      '#caseload-table tr[data-patient-id="' + CSS.escape(String(patientId)) + '"]'
    );
    return row ? row.querySelector("[data-unread-messages]") : null;
  }

  function show(patientId, count) {
    const badge = badgeOf(patientId);
    if (!badge) return;
    const before = Number(badge.dataset.unreadMessages) || 0;
    badge.dataset.unreadMessages = String(count);
    badge.textContent = count + " unread message" + (count === 1 ? "" : "s");
    badge.hidden = count === 0;
    if (count > before) {
      const row = badge.closest("tr");
      const link = row && row.querySelector("th a");
      const name = link ? link.textContent.trim() : "a patient";
      if (Dashboard.announce) Dashboard.announce("New message from " + name + ".");
    }
  }

  async function refresh(ids) {
    if (!ids.length) return;
    const base = document.body.dataset.unreadUrl || "/dashboard/unread/";
    const url = new URL(base, window.location.href);
    ids.forEach(function (id) {
      url.searchParams.append("patient", id);
    });
    let response;
    try {
      response = await fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
    } catch (_) {
      return;
    }
    if (!response.ok || response.redirected) return;
    const data = await response.json();
    Object.keys(data.unread || {}).forEach(function (id) {
      show(id, Number(data.unread[id]) || 0);
    });
  }

  /* Several messages at once make one request. */
  function soon(ids) {
    ids.forEach(function (id) {
      pending.add(String(id));
    });
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      const batch = Array.from(pending);
      pending.clear();
      refresh(batch);
    }, 150);
  }

  function all() {
    soon(
      rows().map(function (row) {
        return row.dataset.patientId;
      })
    );
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("caseload-table")) return;
    document.addEventListener("dashboard:notification", function (event) {
      const message = event.detail || {};
      const payload = message.payload || {};
      if (message.kind !== "care_message" || !payload.enrollment_id) return;
      if (badgeOf(payload.enrollment_id)) soon([payload.enrollment_id]);
    });
    document.addEventListener("dashboard:live-ready", all);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") all();
    });
  });
})();
