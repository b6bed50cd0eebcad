/* IOP dashboard: small helpers, sortable tables, the caseload search and forms that act
   in place. Plain JavaScript, no build step. Every form also works without it. */
(function () {
  "use strict";

  const Dashboard = (window.Dashboard = window.Dashboard || {});

  Dashboard.csrfToken = function () {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta && meta.content) return meta.content;
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  };

  /* Screen-reader announcements. Clearing first makes a repeated message heard again. */
  Dashboard.announce = function (text, urgent) {
    const region = document.getElementById(urgent ? "announce-assertive" : "announce-polite");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = text;
    }, 60);
  };

  /* Parse one element (a <tr> or <li>) from server-rendered HTML. */
  Dashboard.fragment = function (html) {
    const template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  };

  Dashboard.postJSON = async function (url, body) {
    const response = await fetch(url, {
      method: "POST",
      body: body || null,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": Dashboard.csrfToken() },
    });
    if (response.status === 401) {
      const error = new Error("signed out");
      error.signedOut = true;
      throw error;
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    return { response: response, data: data };
  };

  Dashboard.toLogin = function () {
    const login = document.body.dataset.loginUrl || "/dashboard/login/";
    window.location.assign(login + "?next=" + encodeURIComponent(window.location.pathname));
  };

  function firstControl(element) {
    return element.querySelector(
      ".actions button, .actions select, .actions summary, select, button, a[href]"
    );
  }

  /* --- forms that act in place ---------------------------------------------------- */

  document.addEventListener("submit", async function (event) {
    const form = event.target.closest("form[data-inplace]");
    if (!form) return;
    event.preventDefault();
    const holder = form.closest("[data-replace]") || form;
    const errors = holder.querySelector("[data-errors]");
    const buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) {
      b.disabled = true;
    });
    holder.setAttribute("aria-busy", "true");
    try {
      const result = await Dashboard.postJSON(form.action, new FormData(form));
      const data = result.data;
      if (!data) {
        throw new Error("no answer");
      }
      if (!data.ok) {
        const messages = data.errors || ["That did not work."];
        if (errors) {
          errors.innerHTML = "";
          messages.forEach(function (m) {
            const p = document.createElement("p");
            p.textContent = m;
            errors.appendChild(p);
          });
        } else {
          Dashboard.announce(messages.join(" "), true);
        }
        return;
      }
      Dashboard.announce(data.message || "Saved.");
      if (data.remove) {
        const next = holder.nextElementSibling || holder.previousElementSibling;
        const container = holder.parentElement;
        holder.remove();
        document.dispatchEvent(new CustomEvent("dashboard:row-removed", { detail: { container: container } }));
        const target = next ? firstControl(next) || next : document.getElementById("main");
        if (target) target.focus();
      } else if (data.html) {
        const fresh = Dashboard.fragment(data.html);
        if (holder.classList.contains("is-new")) fresh.classList.add("is-new");
        holder.replaceWith(fresh);
        const target = firstControl(fresh) || fresh;
        target.focus();
      }
    } catch (error) {
      if (error && error.signedOut) {
        Dashboard.toLogin();
        return;
      }
      const message = "The server could not be reached. Try again.";
      if (errors) {
        errors.textContent = message;
      } else {
        Dashboard.announce(message, true);
      }
    } finally {
      holder.removeAttribute("aria-busy");
      buttons.forEach(function (b) {
        if (b.isConnected) b.disabled = false;
      });
    }
  });

  /* --- sortable tables ------------------------------------------------------------- */

  function sortValue(cell, type) {
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    if (type === "number") {
      const n = parseFloat(raw);
      return Number.isNaN(n) ? null : n;
    }
    return raw === "" ? null : raw.toLowerCase();
  }

  function setUpSorting(table) {
    const headers = Array.from(table.tHead.rows[0].cells);
    headers.forEach(function (th, index) {
      const button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () {
        const direction = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        headers.forEach(function (h) {
          if (h.hasAttribute("aria-sort")) h.setAttribute("aria-sort", "none");
        });
        th.setAttribute("aria-sort", direction);
        const type = th.dataset.sortType || "text";
        const sign = direction === "ascending" ? 1 : -1;
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort(function (a, b) {
          const x = sortValue(a.cells[index], type);
          const y = sortValue(b.cells[index], type);
          if (x === null && y === null) return 0;
          if (x === null) return 1; /* blanks last, whichever the direction */
          if (y === null) return -1;
          if (x < y) return -sign;
          if (x > y) return sign;
          return 0;
        });
        rows.forEach(function (row) {
          body.appendChild(row);
        });
        Dashboard.announce("Sorted by " + button.textContent.trim() + ", " + direction + ".");
      });
    });
  }

  /* --- caseload search --------------------------------------------------------------- */

  function setUpFilter(input) {
    const table = document.getElementById(input.dataset.filterInput);
    if (!table) return;
    const rows = Array.from(table.tBodies[0].rows);
    const count = document.getElementById("caseload-count");
    const nomatch = document.getElementById("caseload-nomatch");
    function apply() {
      const query = input.value.trim().toLowerCase();
      let shown = 0;
      rows.forEach(function (row) {
        const hit = !query || (row.dataset.search || "").indexOf(query) !== -1;
        row.hidden = !hit;
        if (hit) shown += 1;
      });
      if (count) {
        count.textContent = query
          ? shown + " of " + rows.length + " patients shown"
          : rows.length + (rows.length === 1 ? " patient" : " patients");
      }
      if (nomatch) nomatch.hidden = shown !== 0;
    }
    input.addEventListener("input", apply);
    const form = input.closest("form[data-filter-form]");
    if (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        apply();
      });
    }
    apply();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(setUpSorting);
    document.querySelectorAll("[data-filter-input]").forEach(setUpFilter);
  });
})();
