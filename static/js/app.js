// Small page helpers; everything works without them, only more clicks.
(function () {
  "use strict";

  // How many rows are ticked, shown in the bar that enriches them.
  function showSelectedCount() {
    document.querySelectorAll("[data-selected-count]").forEach(function (counter) {
      var form = counter.closest("form");
      var ticked = form ? document.querySelectorAll('input[name="ids"][form="' + form.id + '"]:checked').length : 0;
      counter.textContent = ticked + " selected";
      counter.classList.toggle("selected-count--some", ticked > 0);
    });
  }

  // "Select all on this page": tick or clear every row checkbox of the same table.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement)) return;
    var table = box.closest("table");
    if (!table) return;
    var rows = table.querySelectorAll('tbody input[type="checkbox"][name="ids"]');
    if (box.hasAttribute("data-select-all")) {
      rows.forEach(function (row) { row.checked = box.checked; });
    } else if (box.name === "ids") {
      var all = table.querySelector("[data-select-all]");
      if (all) {
        var ticked = Array.prototype.filter.call(rows, function (row) { return row.checked; }).length;
        all.checked = ticked === rows.length;
        all.indeterminate = ticked > 0 && ticked < rows.length;
      }
    }
    showSelectedCount();
  });

  // "Close" on a panel loaded with htmx empties the panel.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-close-panel]");
    if (!button) return;
    var panel = button.closest("[data-panel]");
    if (panel) panel.replaceChildren();
  });

  // A form marked data-sync-url shows what the address says. The browser's Back and
  // Forward buttons (htmx's history restore, the back/forward cache) bring back the table
  // of an earlier address but not the values its drop-downs had, so the form would show a
  // filter other than the one in effect.
  function syncFormsWithUrl() {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[data-sync-url]").forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (field) {
        // Hidden fields come with the table, which is restored with its address.
        if (!field.name || ["submit", "button", "hidden"].indexOf(field.type) !== -1) return;
        var value = params.get(field.name) || "";
        if (field.type === "checkbox" || field.type === "radio") {
          field.checked = params.getAll(field.name).indexOf(field.value) !== -1;
        } else if (field.tagName === "SELECT" && value && !Array.prototype.some.call(field.options, function (o) { return o.value === value; })) {
          field.value = "";
        } else {
          field.value = value;
        }
      });
    });
  }

  // Files dropped on a drop zone join the files of its file input (and so the form).
  function dropZoneOf(event) {
    return event.target instanceof Element ? event.target.closest("[data-dropzone]") : null;
  }
  function carriesFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") !== -1;
  }
  ["dragenter", "dragover"].forEach(function (name) {
    document.addEventListener(name, function (event) {
      if (!carriesFiles(event)) return;
      event.preventDefault();  // else the browser opens a file dropped beside the zone
      var zone = dropZoneOf(event);
      if (zone) zone.classList.add("dropzone--over");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var zone = dropZoneOf(event);
    if (zone && !zone.contains(event.relatedTarget)) zone.classList.remove("dropzone--over");
  });
  document.addEventListener("drop", function (event) {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    var zone = dropZoneOf(event);
    if (!zone) return;
    zone.classList.remove("dropzone--over");
    var input = zone.querySelector('input[type="file"]');
    var files = new DataTransfer();
    var seen = {};
    Array.prototype.forEach.call(input.files, function (file) {
      seen[file.name + "/" + file.size] = true;
      files.items.add(file);
    });
    Array.prototype.forEach.call(event.dataTransfer.files, function (file) {
      if (!seen[file.name + "/" + file.size]) files.items.add(file);
    });
    input.files = files.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // A button marked data-copy="<selector>" copies that element's text (a new API key).
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-copy]") : null;
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    var text = source.textContent.trim();
    function done() { button.textContent = "Copied"; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { button.textContent = "Select and copy it"; });
    } else {
      // Plain HTTP: select the key, so that the person's copy takes it.
      var range = document.createRange();
      range.selectNodeContents(source);
      window.getSelection().removeAllRanges();
      window.getSelection().addRange(range);
      button.textContent = document.execCommand("copy") ? "Copied" : "Selected: copy it";
    }
  });

  // A button marked data-confirm asks first (in the capture phase: before the form is
  // sent, by the browser or by htmx).
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-confirm]") : null;
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // "Leave out" beside a refused file drops that file (by its place among the chosen
  // ones) from the file input; the change asks for a new preview.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-leave-out]");
    if (!button) return;
    var form = button.closest("form");
    var input = form ? form.querySelector('input[type="file"]') : null;
    if (!input) return;
    var leaveOut = Number(button.getAttribute("data-leave-out"));
    var files = new DataTransfer();
    Array.prototype.forEach.call(input.files, function (file, index) {
      if (index !== leaveOut) files.items.add(file);
    });
    input.files = files.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  });

  // A form that must not be sent twice (an import) disables its buttons once sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-disable-on-submit")) return;
    window.setTimeout(function () {
      form.querySelectorAll('button[type="submit"]').forEach(function (button) { button.disabled = true; });
    }, 0);
  });

  // Sizes as Django's filesizeformat writes them (1 KB = 1024 bytes).
  function sizeText(bytes) {
    var units = ["bytes", "KB", "MB", "GB"];
    var value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return unit ? value.toFixed(1) + "\u00a0" + units[unit] : bytes + "\u00a0bytes";
  }

  function showProblem(target, message) {
    var box = document.createElement("div");
    box.className = "result result--error";
    box.setAttribute("role", "alert");
    box.setAttribute("data-request-problem", "");
    var text = document.createElement("p");
    text.textContent = message;
    box.appendChild(text);
    if (target.id === "preview") {
      target.replaceChildren(box);
    } else {
      var previous = target.parentNode && target.parentNode.querySelector("[data-request-problem]");
      if (previous) previous.remove();
      target.parentNode.insertBefore(box, target);
    }
  }

  // An upload bigger than the server takes is not sent at all (data-max-bytes on the form):
  // the person learns at once, instead of after sending megabytes that are refused.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt instanceof Element ? event.detail.elt.closest("form[data-max-bytes]") : null;
    if (!form) return;
    var limit = Number(form.getAttribute("data-max-bytes"));
    var total = 0;
    form.querySelectorAll('input[type="file"]').forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
    });
    if (!limit || total <= limit) return;
    event.preventDefault();
    showProblem(event.detail.target || form, "These files add up to " + sizeText(total) +
      "; one upload takes at most " + sizeText(limit) + " (" + limit.toLocaleString("en-US") +
      " bytes): import them in parts.");
  });

  // A request the server refused without a page to show (a JSON error from the server in
  // front of the app, a 5xx) or that never got an answer: said where its answer would go.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var target = event.detail.target || event.detail.elt;
    if (!target || !target.parentNode) return;
    var message = xhr.status === 413
      ? "The server refused the request as too large (413): nothing was changed. Send less at once."
      : "The server answered " + xhr.status + (xhr.statusText ? " " + xhr.statusText : "") +
        ": nothing was changed. Try again, or reload the page.";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && typeof body.error === "string") message = body.error;
    } catch (e) { /* not JSON: the status says it */ }
    showProblem(target, message);
  });
  document.addEventListener("htmx:sendError", function (event) {
    var target = event.detail.target || event.detail.elt;
    if (!target || !target.parentNode) return;
    showProblem(target, "The server could not be reached (or closed the connection): nothing was changed. Try again.");
  });

  document.addEventListener("htmx:historyRestore", syncFormsWithUrl);
  window.addEventListener("popstate", function () { window.setTimeout(syncFormsWithUrl, 0); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) syncFormsWithUrl(); });
  document.addEventListener("htmx:afterSettle", showSelectedCount);
  document.addEventListener("DOMContentLoaded", showSelectedCount);

  // A sticky bar's height, for what scrolls into view below it (#enrich-result on a phone):
  // the bar grows with its buttons, so its height is measured, not assumed.
  function measureStickyBar() {
    var bar = document.querySelector(".toolbar--sticky");
    if (bar) document.documentElement.style.setProperty("--sticky-bar-height", bar.offsetHeight + "px");
  }
  document.addEventListener("DOMContentLoaded", measureStickyBar);
  window.addEventListener("resize", measureStickyBar);
  document.addEventListener("htmx:afterSettle", measureStickyBar);
})();
