(function () {
  "use strict";
  var ui = JSON.parse(document.getElementById("kr-ui").textContent);
  var table = document.getElementById("kr-accounts");
  if (!table) {
    return;
  }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.card"));
  var search = document.getElementById("kr-search");
  var count = document.getElementById("kr-count");
  var empty = document.getElementById("kr-empty");
  var collator = new Intl.Collator(ui.lang === "zh" ? "zh-CN" : "en", {numeric: true, sensitivity: "base"});

  function matches(element) {
    for (var i = 0; i < selects.length; i++) {
      var wanted = selects[i].value;
      var key = "data-" + selects[i].getAttribute("data-filter");
      if (wanted !== "*" && element.getAttribute(key) !== wanted) {
        return false;
      }
    }
    var query = search ? search.value.trim().toLowerCase() : "";
    return !query || (element.getAttribute("data-search") || "").indexOf(query) !== -1;
  }

  function applyFilters() {
    var shown = 0;
    rows.forEach(function (row) {
      var keep = matches(row);
      row.hidden = !keep;
      if (keep) {
        shown += 1;
      }
    });
    cards.forEach(function (card) {
      card.hidden = !matches(card);
    });
    count.textContent = ui.showing.replace("{shown}", shown.toLocaleString()).replace(
      "{total}", rows.length.toLocaleString());
    empty.hidden = shown !== 0;
  }

  function sortValue(row, index, numeric) {
    var cell = row.cells[index];
    if (numeric) {
      var raw = cell.getAttribute("data-value");
      return raw === null || raw === "" ? null : parseFloat(raw);
    }
    var text = cell.textContent.trim();
    return text === "" ? null : text;
  }

  function sortBy(header) {
    var index = headers.indexOf(header);
    var numeric = header.getAttribute("data-sort") === "num";
    var sign = kamriskTable.direction(header, headers);
    rows.sort(function (a, b) {
      var x = sortValue(a, index, numeric);
      var y = sortValue(b, index, numeric);
      return kamriskTable.compare(x, y, sign, numeric, collator);
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) {
      fragment.appendChild(row);
    });
    tbody.appendChild(fragment);
  }

  kamriskTable.wire(headers, selects, search, sortBy, applyFilters);
})();
