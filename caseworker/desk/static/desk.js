// The desk's only script: progressive help, never required. Served from the desk itself
// (the Content-Security-Policy allows no inline or foreign script).
(function () {
  "use strict";

  // A page shown again from the back/forward cache after a lock must ask the desk afresh.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });

  // A page that shows cases watches for the desk locking (the idle lock, the Lock button in
  // another tab) or closing: it empties itself at once instead of showing a report to whoever
  // walks by. Asking /progress does not count as her activity, so the idle lock still comes.
  var watched = document.body.getAttribute("data-lock-watch");
  if (watched) {
    // She is leaving this page already (a link, a form, the Lock button): its own navigation
    // shows the right page, and a second one would interrupt it.
    var leftAt = 0;
    window.addEventListener("beforeunload", function () { leftAt = Date.now(); });
    var hide = function () {
      if (Date.now() - leftAt < 5000) { window.setTimeout(watch, 3000); return; }
      document.body.textContent = "";
      window.location.replace("/unlock");
    };
    var failures = 0;
    var watch = function () {
      fetch(watched, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (state) {
          failures = 0;
          if (state.phase === "unlocked") { window.setTimeout(watch, 3000); } else { hide(); }
        })
        .catch(function () {
          // Twice no desk answering on loopback: it was closed (and locked on the way out).
          failures += 1;
          if (failures >= 2) { hide(); } else { window.setTimeout(watch, 1000); }
        });
    };
    window.setTimeout(watch, 3000);
  }

  // Unlocking: show the decryption's progress, then go to the inbox.
  var waiting = document.querySelector("[data-progress]");
  if (waiting) {
    var bar = document.getElementById("progress");
    var text = document.getElementById("progress-text");
    var poll = function () {
      fetch(waiting.getAttribute("data-progress"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (state) {
          if (state.phase === "unlocked") { window.location.assign("/"); return; }
          if (state.phase === "locked") { window.location.assign("/unlock"); return; }
          bar.max = Math.max(state.total, 1);
          bar.value = state.done;
          text.textContent = state.done + " / " + state.total;
          window.setTimeout(poll, 150);
        })
        .catch(function () { window.setTimeout(poll, 500); });
    };
    poll();
  }

  // A sync under way: show its result as soon as it is done.
  var syncing = document.querySelector("[data-syncing]");
  if (syncing) {
    var check = function () {
      fetch(syncing.getAttribute("data-syncing"), { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.json(); })
        .then(function (state) {
          if (!state.running) { window.location.reload(); return; }
          window.setTimeout(check, 500);
        })
        .catch(function () { window.setTimeout(check, 2000); });
    };
    window.setTimeout(check, 300);
  }

  // The inbox from the keyboard: j / k move between reports, Enter opens, / searches.
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.inbox tr.row a.open"));
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" ||
                            target.tagName === "SELECT");
    if (typing || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.key === "/") {
      var search = document.getElementById("search");
      if (search) { event.preventDefault(); search.focus(); }
      return;
    }
    if (!rows.length || (event.key !== "j" && event.key !== "k")) { return; }
    var at = rows.indexOf(document.activeElement);
    var next = event.key === "j" ? Math.min(at + 1, rows.length - 1) : Math.max(at - 1, 0);
    rows[next].focus();
    event.preventDefault();
  });
})();
