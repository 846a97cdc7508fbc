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
    var current = header.getAttribute("aria-sort");
    var direction = current === "descending" ? "ascending" : current === "ascending" ? "descending"
      : numeric ? "descending" : "ascending";
    headers.forEach(function (other) {
      other.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", direction);
    var sign = direction === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = sortValue(a, index, numeric);
      var y = sortValue(b, index, numeric);
      if (x === null || y === null) {
        return (x === null) - (y === null);  // missing values last, either way
      }
      return sign * (numeric ? x - y : collator.compare(x, y));
    });
    var fragment = document.createDocumentFragment();
    rows.forEach(function (row) {
      fragment.appendChild(row);
    });
    tbody.appendChild(fragment);
  }

  headers.forEach(function (header) {
    if (!header.hasAttribute("data-sort")) {
      return;
    }
    header.tabIndex = 0;
    header.addEventListener("click", function () {
      sortBy(header);
    });
    header.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sortBy(header);
      }
    });
  });
  selects.forEach(function (select) {
    select.addEventListener("change", applyFilters);
  });
  if (search) {
    search.addEventListener("input", applyFilters);
  }
  applyFilters();
})();
