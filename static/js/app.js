// Small page helpers; everything works without them, only more clicks.
(function () {
  "use strict";

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
      if (!all) return;
      var ticked = Array.prototype.filter.call(rows, function (row) { return row.checked; }).length;
      all.checked = ticked === rows.length;
      all.indeterminate = ticked > 0 && ticked < rows.length;
    }
  });

  // "Close" on a panel loaded with htmx empties the panel.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-close-panel]");
    if (!button) return;
    var panel = button.closest("[data-panel]");
    if (panel) panel.replaceChildren();
  });
})();
