// albench report: draws every chart of the page with the embedded plotly.js and
// makes the tables sortable. When all charts are drawn, <body> gets
// data-charts-drawn (their number); a failure is reported on the console.
(function () {
  "use strict";

  function readSpec(el) {
    return JSON.parse(document.getElementById(el.id + "-spec").textContent);
  }

  function rgba(hex, alpha) {
    var n = parseInt(hex.slice(1), 16);
    return "rgba(" + ((n >> 16) & 255) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function controlsOf(id) {
    return document.querySelector('.controls[data-chart="' + id + '"]');
  }

  // Aggregate the points of a facet chart for the chosen split and filter, then draw one
  // panel per (filter value, split value), one line per colour value.
  function facetFigure(s, split, ticked) {
    var codes = s.codes, nums = s.numbers, n = nums[s.x].length;
    var rowsLevels = s.levels[s.filter].filter(function (v) { return ticked.indexOf(v) >= 0; });
    var shownRows = rowsLevels.slice(0, s.max_rows);
    var colsLevels = split === "none" ? [null] : s.levels[split];
    var cells = {};  // panel|colour|x -> sums
    for (var i = 0; i < n; i++) {
      var rowValue = s.levels[s.filter][codes[s.filter][i]];
      var r = shownRows.indexOf(rowValue);
      if (r < 0 || nums[s.y][i] === null) continue;
      var c = split === "none" ? 0 : codes[split][i];
      var line = codes[s.colour][i];
      var key = r + "|" + c + "|" + line + "|" + nums[s.x][i];
      var w = s.weight ? nums[s.weight][i] : 1;
      var cell = cells[key] || (cells[key] = {r: r, c: c, line: line, x: nums[s.x][i], sum: 0, w: 0, k: 0,
                                              low: null, high: null});
      cell.sum += nums[s.y][i] * w;
      cell.w += w;
      cell.k += 1;
      if (s.band.length) { cell.low = nums[s.band[0]][i]; cell.high = nums[s.band[1]][i]; }
    }
    var series = {};  // panel|colour -> points sorted by x
    Object.keys(cells).forEach(function (key) {
      var cell = cells[key], id = cell.r + "|" + cell.c + "|" + cell.line;
      (series[id] || (series[id] = [])).push(cell);
    });
    var nCols = colsLevels.length, traces = [], seen = {}, annotations = [];
    Object.keys(series).sort().forEach(function (id) {
      var pts = series[id].sort(function (a, b) { return a.x - b.x; });
      var first = pts[0], panel = first.r * nCols + first.c + 1;
      var name = s.levels[s.colour][first.line], colour = s.colours[name] || "#777777";
      var axis = panel === 1 ? "" : String(panel);
      var xs = pts.map(function (p) { return p.x; });
      var ys = pts.map(function (p) { return p.sum / p.w; });
      var own = pts.every(function (p) { return p.k === 1 && p.low !== null && p.high !== null; });
      if (s.band.length && own) {
        traces.push({type: "scatter", mode: "lines", x: xs, y: pts.map(function (p) { return p.high; }),
                     xaxis: "x" + axis, yaxis: "y" + axis, line: {width: 0}, hoverinfo: "skip",
                     showlegend: false, legendgroup: name});
        traces.push({type: "scatter", mode: "lines", x: xs, y: pts.map(function (p) { return p.low; }),
                     xaxis: "x" + axis, yaxis: "y" + axis, line: {width: 0}, fill: "tonexty",
                     fillcolor: rgba(colour, 0.18), hoverinfo: "skip", showlegend: false, legendgroup: name});
      }
      var counts = pts.map(function (p) { return s.weight ? p.w + " runs" : p.k + " rows"; });
      traces.push({type: "scatter", mode: "lines+markers", x: xs, y: ys, name: name, legendgroup: name,
                   showlegend: !seen[name], xaxis: "x" + axis, yaxis: "y" + axis, customdata: counts,
                   line: {color: colour, width: 1.6}, marker: {size: 4},
                   hovertemplate: name + "<br>" + s.xlabel + " %{x}<br>" + s.ylabel + " %{y:.4g}<br>%{customdata}"
                                  + "<extra></extra>"});
      seen[name] = true;
    });
    // panels placed by hand (domains, titles in paper coordinates), so a panel without data
    // keeps its place and its title
    var wrap = Math.min(colsLevels.length, s.max_cols);  // panels per row; more split values wrap
    var rowsPer = Math.ceil(colsLevels.length / wrap);
    var nRows = Math.max(shownRows.length * rowsPer, 1), rowHeight = 250, top = 40, bottom = 90;
    var height = top + bottom + rowHeight * nRows;
    var layout = {height: height, margin: {l: 60, r: 10, t: top, b: bottom}, hovermode: "closest",
                  legend: {orientation: "h", x: 0, y: -70 / (height - top - bottom), yanchor: "top"},
                  annotations: annotations, showlegend: true};
    var xGap = 0.07, yGapPx = 70;
    function logAxis(on) { return on ? {type: "log", dtick: 1, exponentformat: "power"} : {type: "linear"}; }
    shownRows.forEach(function (rowValue, r) {
      colsLevels.forEach(function (colValue, c) {
        var panel = r * nCols + c + 1, axis = panel === 1 ? "" : String(panel);
        var gridRow = r * rowsPer + Math.floor(c / wrap), gridCol = c % wrap;
        var x0 = gridCol / wrap + (gridCol > 0 ? xGap / 2 : 0);
        var x1 = (gridCol + 1) / wrap - (gridCol < wrap - 1 ? xGap / 2 : 0);
        var y1 = 1 - gridRow / nRows, y0 = 1 - (gridRow + 1) / nRows + yGapPx / (rowHeight * nRows);
        layout["xaxis" + axis] = Object.assign({domain: [x0, x1], anchor: "y" + axis,
                                                title: {text: s.xlabel, font: {size: 11}, standoff: 4}},
                                               logAxis(s.log_x));
        layout["yaxis" + axis] = Object.assign({domain: [y0, y1 - 0.02 / nRows], anchor: "x" + axis,
                                                title: {text: s.ylabel, font: {size: 11}}}, logAxis(s.log_y));
        annotations.push({text: rowValue + (colValue === null ? "" : ", " + split + " " + colValue),
                          xref: "paper", yref: "paper", x: (x0 + x1) / 2, y: y1, xanchor: "center",
                          yanchor: "bottom", showarrow: false, font: {size: 12}});
        traces.push({type: "scatter", x: [], y: [], xaxis: "x" + axis, yaxis: "y" + axis, showlegend: false,
                     hoverinfo: "skip"});
      });
    });
    if (rowsLevels.length > shownRows.length) {
      annotations.push({text: "first " + shownRows.length + " of " + rowsLevels.length + " ticked values shown",
                        xref: "paper", yref: "paper", x: 1, y: 1, yanchor: "bottom", xanchor: "right",
                        yshift: 16, showarrow: false, font: {size: 11, color: "#555"}});
    }
    return {data: traces, layout: layout};
  }

  function drawFacet(el, s) {
    var controls = controlsOf(el.id);
    function state() {
      var ticked = [];
      controls.querySelectorAll("input.filter").forEach(function (box) { if (box.checked) ticked.push(box.value); });
      return facetFigure(s, controls.querySelector("select.split").value, ticked);
    }
    controls.addEventListener("change", function () {
      var fig = state();
      Plotly.react(el, fig.data, fig.layout, s.config);
    });
    var fig = state();
    return Plotly.newPlot(el, fig.data, fig.layout, s.config);
  }

  function drawChart(el) {
    var s = readSpec(el);
    if (s.kind === "facet") return drawFacet(el, s);
    return Plotly.newPlot(el, s.data, s.layout, s.config);
  }

  function sortable(table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        var numeric = th.classList.contains("num");
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[column].getAttribute("data-sort"), y = b.cells[column].getAttribute("data-sort");
          if (x === "" || y === "") return (x === "") - (y === "");  // missing values last either way
          var order = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y, undefined, {numeric: true});
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  document.querySelectorAll("table.sortable").forEach(sortable);
  var charts = Array.prototype.slice.call(document.querySelectorAll(".chart"));
  Promise.all(charts.map(drawChart)).then(function () {
    document.body.setAttribute("data-charts-drawn", String(charts.length));
  }, function (error) {
    console.error("albench report: a chart failed: " + error);
  });
})();
