(function () {
  "use strict";
  var ui = JSON.parse(document.getElementById("kr-ui").textContent);
  var table = document.getElementById("kr-accounts");
  if (!table) {
    return;
  }
  // The table comes as compact JSON (see _View.rows): one array an account, repeated texts as indexes into
  // lists. Every text is placed with textContent, never parsed as markup.
  var data = JSON.parse(document.getElementById("kr-rows").textContent);
  var ID = 0, NAME = 1, OWNER = 2, SEGMENT = 3, REGION = 4, STAGE = 5, BAND = 6, RISK = 7, RISK_SHOWN = 8,
    CHANGE = 9, CHANGE_SHOWN = 10, REVENUE = 11, RAR = 12, REASON = 13, CAUSE = 14;
  var STAGE_ORDER = {warning: 4, declining: 3, healthy: 2, lapsed: 1};
  var BAND_ORDER = {high: 3, medium: 2, low: 1};
  var tbody = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.card"));
  var search = document.getElementById("kr-search");
  var count = document.getElementById("kr-count");
  var empty = document.getElementById("kr-empty");
  var collator = new Intl.Collator(ui.lang === "zh" ? "zh-CN" : "en", {numeric: true, sensitivity: "base"});

  function money(value) {  // as Python's f"{x:,.0f}" of the already rounded integer
    return value === null ? "\u2013" : String(value).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null && text !== "") {
      node.textContent = text;
    }
    return node;
  }

  // one entry per account: its values, filter keys, search text, sort keys and (once drawn) its row
  var accounts = data.rows.map(function (r, i) {
    var stage = data.stage[r[STAGE]][0];
    var band = data.band[r[BAND]][0];
    var name = r[NAME] || r[ID];
    return {
      r: r, rank: i + 1, name: name,
      filter: {stage: stage, band: band, owner: data.owner[r[OWNER]], segment: data.segment[r[SEGMENT]],
               region: data.region[r[REGION]]},
      search: (name + " " + r[ID]).toLowerCase(),
      sort: {
        rank: i + 1, account: r[NAME] ? name + r[ID] : name, owner: data.owner[r[OWNER]],
        segment: data.segment[r[SEGMENT]], region: data.region[r[REGION]], stage: STAGE_ORDER[stage] || 0,
        band: BAND_ORDER[band] || 0, risk: r[RISK], change: r[CHANGE], revenue: r[REVENUE], rar: r[RAR],
        reason: data.reason[r[REASON]], cause: data.cause[r[CAUSE]]
      },
      row: null
    };
  });

  function draw(account) {
    var r = account.r;
    var tr = document.createElement("tr");
    tr.setAttribute("data-account", r[ID]);
    tr.appendChild(element("td", "num", String(account.rank)));
    var cell = element("td", "account");
    if (account.rank <= data.top) {
      var link = element("a", "", account.name);
      link.href = "#card-" + account.rank;
      cell.appendChild(link);
    } else {
      cell.textContent = account.name;
    }
    if (r[NAME]) {
      cell.appendChild(element("span", "id", r[ID]));
    }
    tr.appendChild(cell);
    tr.appendChild(element("td", "", account.filter.owner));
    tr.appendChild(element("td", "", account.filter.segment));
    tr.appendChild(element("td", "", account.filter.region));
    cell = element("td");
    if (account.filter.stage) {
      cell.appendChild(element("span", "pill stage-" + account.filter.stage, data.stage[r[STAGE]][1]));
    }
    tr.appendChild(cell);
    cell = element("td");
    cell.appendChild(element("span", "pill band-" + account.filter.band, data.band[r[BAND]][1]));
    tr.appendChild(cell);
    tr.appendChild(element("td", "num", r[RISK_SHOWN] === null ? "\u2013" : r[RISK_SHOWN] + "%"));
    var change = r[CHANGE];
    var shown = r[CHANGE_SHOWN];
    tr.appendChild(element("td", "num" + (change !== null && change >= 0.5 ? " up" : change !== null
      && change <= -0.5 ? " down" : ""), shown === null ? "" : shown > 0 ? "+" + shown : String(shown)));
    tr.appendChild(element("td", "num", money(r[REVENUE])));
    cell = element("td", "num");
    cell.appendChild(element("b", "", money(r[RAR])));
    tr.appendChild(cell);
    tr.appendChild(element("td", "reason", data.reason[r[REASON]]));
    tr.appendChild(element("td", "", data.cause[r[CAUSE]]));
    account.row = tr;
    return tr;
  }

  // Only the matching rows down to a little below the window are in the page (CHUNK at a time); the next
  // ones are drawn as the reader scrolls on, so a book of 100,000 accounts filters, sorts and searches at once.
  var CHUNK = 500;
  var visible = accounts;
  var drawn = 0;
  var sentinel = document.createElement("div");  // marks the table's end
  table.parentNode.insertBefore(sentinel, table.nextSibling);

  function more() {
    var fragment = document.createDocumentFragment();
    var end = Math.min(drawn + CHUNK, visible.length);
    for (var i = drawn; i < end; i++) {
      fragment.appendChild(visible[i].row || draw(visible[i]));
    }
    drawn = end;
    tbody.appendChild(fragment);
  }

  function render() {
    tbody.textContent = "";
    drawn = 0;
    more();
    fill();
  }

  function fill() {  // draw until the table's end lies well below the window (or every row is drawn)
    while (drawn < visible.length && sentinel.getBoundingClientRect().top < window.innerHeight + 1200) {
      more();
    }
  }

  window.addEventListener("scroll", fill, {passive: true});
  window.addEventListener("resize", fill, {passive: true});

  function matches(values, text) {
    for (var i = 0; i < selects.length; i++) {
      var wanted = selects[i].value;
      if (wanted !== "*" && values(selects[i].getAttribute("data-filter")) !== wanted) {
        return false;
      }
    }
    var query = search ? search.value.trim().toLowerCase() : "";
    return !query || text.indexOf(query) !== -1;
  }

  function applyFilters() {
    visible = accounts.filter(function (account) {
      return matches(function (key) { return account.filter[key]; }, account.search);
    });
    render();
    cards.forEach(function (card) {
      card.hidden = !matches(function (key) { return card.getAttribute("data-" + key); },
        card.getAttribute("data-search") || "");
    });
    count.textContent = ui.showing.replace("{shown}", visible.length.toLocaleString()).replace(
      "{total}", accounts.length.toLocaleString());
    empty.hidden = visible.length !== 0;
  }

  function sortBy(header) {
    var key = header.getAttribute("data-key");
    var numeric = header.getAttribute("data-sort") === "num";
    var sign = kamriskTable.direction(header, headers);
    accounts.sort(function (a, b) {
      var x = a.sort[key];
      var y = b.sort[key];
      if (x === "") {
        x = null;
      }
      if (y === "") {
        y = null;
      }
      return kamriskTable.compare(x, y, sign, numeric, collator);
    });
    applyFilters();
  }

  kamriskTable.wire(headers, selects, search, sortBy, applyFilters);
})();
