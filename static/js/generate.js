// The Generate page: "Select all" ticks or clears every box of its list.
(function () {
  "use strict";

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
    var form = box.form;
    if (!form) return;
    var group = box.getAttribute("data-select-all-of");
    if (group) {
      form.querySelectorAll('input[type="checkbox"][name="' + group + '"]').forEach(function (item) {
        item.checked = box.checked;
      });
      return;
    }
    var all = form.querySelector('[data-select-all-of="' + box.name + '"]');
    if (!all) return;
    var items = form.querySelectorAll('input[type="checkbox"][name="' + box.name + '"]');
    var ticked = Array.prototype.filter.call(items, function (item) { return item.checked; }).length;
    all.checked = ticked === items.length;
    all.indeterminate = ticked > 0 && ticked < items.length;
  });
})();
