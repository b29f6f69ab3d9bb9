// The report's only script: sortable tables, filters, the address that carries them, print with comments open.
// It reads and hides what the page already holds; it adds no content and reaches no network.
(function () {
  "use strict";
  function cellValue(cell) {
    var text = cell.textContent.trim();
    var number = text.replace(/,/g, "").match(/^[-+]?\d+(\.\d+)?/);
    return number ? parseFloat(number[0]) : text;
  }
  function sortBy(table, column, header) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var direction = header.getAttribute("data-sort") === "desc" ? "asc" : "desc";
    Array.prototype.forEach.call(header.parentNode.cells, function (th) { th.removeAttribute("data-sort"); });
    header.setAttribute("data-sort", direction);
    rows.sort(function (a, b) {
      var x = cellValue(a.cells[column]), y = cellValue(b.cells[column]);
      var order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), "zh");
      return direction === "asc" ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    if (!table.tHead || !table.tBodies.length) { return; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, column) {
      header.tabIndex = 0;
      header.title = "点击排序 click to sort";
      header.addEventListener("click", function () { sortBy(table, column, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { sortBy(table, column, header); }
      });
    });
  });

  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var counter = document.getElementById("filter-count");
  function apply(updateAddress) {
    var wanted = {};
    selects.forEach(function (select) { if (select.value) { wanted[select.getAttribute("data-filter")] = select.value; } });
    var keys = Object.keys(wanted);
    var hidden = 0;
    Array.prototype.forEach.call(document.querySelectorAll("[data-f]"), function (element) {
      var match = keys.every(function (key) {
        var value = element.getAttribute("data-" + key);
        return value === null || value.split("\u241f").indexOf(wanted[key]) >= 0;
      });
      element.hidden = !match;
      if (!match) { hidden += 1; }
    });
    if (counter) { counter.textContent = keys.length ? "已隐藏 " + hidden + " 项 hidden" : ""; }
    if (updateAddress) {
      var parts = keys.map(function (key) { return key + "=" + encodeURIComponent(wanted[key]); });
      history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search);
    }
  }
  selects.forEach(function (select) { select.addEventListener("change", function () { apply(true); }); });
  var reset = document.getElementById("filter-reset");
  if (reset) {
    reset.addEventListener("click", function () { selects.forEach(function (s) { s.value = ""; }); apply(true); });
  }
  // #group=销售部&cause=process in the address applies those filters when the page opens (a link can be shared)
  location.hash.replace(/^#/, "").split("&").forEach(function (part) {
    var pair = part.split("=");
    if (pair.length !== 2) { return; }
    var value;
    try { value = decodeURIComponent(pair[1]); } catch (error) { return; }
    selects.forEach(function (select) {
      if (select.getAttribute("data-filter") !== pair[0]) { return; }
      Array.prototype.forEach.call(select.options, function (option) { if (option.value === value) { select.value = value; } });
    });
  });
  apply(false);
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (details) { details.open = true; });
  });
})();
