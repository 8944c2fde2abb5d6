// The Review page's keyboard: a approve, r reject, e request revision, j skip, k back,
// ? the list of shortcuts, Esc closes; inside a reject or revision form, 1-7 tick the
// reasons and Ctrl+Enter sends it. Every shortcut presses a button or link that is on
// the page, so the page works the same without this script.
(function () {
  "use strict";

  var STORE = "review-visited";

  function panel() { return document.querySelector("[data-review-panel]"); }

  function visited() {
    try { return JSON.parse(sessionStorage.getItem(STORE) || "[]"); } catch (e) { return []; }
  }

  function remember(list) {
    try { sessionStorage.setItem(STORE, JSON.stringify(list.slice(-200))); } catch (e) { /* private mode */ }
  }

  // The conversations shown, in order, so that k can go back to the one before.
  function noteShown() {
    var current = panel() && panel().getAttribute("data-conversation");
    if (!current) return;
    var list = visited();
    if (list[list.length - 1] !== current) list.push(current);
    remember(list);
  }

  function typing(target) {
    return target instanceof HTMLElement &&
      (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function shortcut(key) {
    var root = panel();
    return root ? root.querySelector('[data-shortcut="' + key + '"]') : null;
  }

  function openForm(details) {
    document.querySelectorAll("details.review-form[open]").forEach(function (other) {
      if (other !== details) other.open = false;
    });
    details.open = true;
    var first = details.querySelector('input[type="checkbox"]');
    if (first) first.focus();
  }

  function back() {
    var list = visited();
    var current = panel() && panel().getAttribute("data-conversation");
    if (list.length && list[list.length - 1] === current) list.pop();
    var previous = list[list.length - 1];
    if (!previous) return;
    remember(list);
    var root = panel();
    var query = root.getAttribute("data-query");
    var url = root.getAttribute("data-show-url") + previous + "/" + (query ? "?" + query : "");
    if (window.htmx) {
      window.htmx.ajax("GET", url, { target: "#review-panel", swap: "outerHTML" });
    } else {
      window.location.href = url;
    }
  }

  function toggleHelp() {
    var help = document.getElementById("review-help");
    if (!help) return;
    if (help.open) help.close(); else help.showModal();
  }

  document.addEventListener("keydown", function (event) {
    if (!panel()) return;
    var target = event.target;
    var form = target instanceof Element ? target.closest("details.review-form") : null;
    if (event.key === "Escape" && form) {
      form.open = false;
      form.querySelector("summary").focus();
      event.preventDefault();
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && form) {
      var send = form.querySelector('button[type="submit"]');
      if (send) send.click();
      event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(target) && !(target.type === "checkbox")) return;
    if (form && /^[1-9]$/.test(event.key)) {
      var reason = form.querySelector('[data-reason-key="' + event.key + '"]');
      if (reason) { reason.checked = !reason.checked; reason.focus(); event.preventDefault(); }
      return;
    }
    if (event.key === "?") { toggleHelp(); event.preventDefault(); return; }
    if (document.getElementById("review-help") && document.getElementById("review-help").open) return;
    var key = event.key;
    if (key === "k") { back(); event.preventDefault(); return; }
    var element = shortcut(key);
    if (!element) return;
    event.preventDefault();
    if (element.tagName === "DETAILS") openForm(element);
    else element.click();
  });

  // The Previous button does what k does.
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest('[data-shortcut="k"]') : null;
    if (button) { event.preventDefault(); back(); }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "review-panel") noteShown();
  });
  document.addEventListener("DOMContentLoaded", noteShown);
})();
