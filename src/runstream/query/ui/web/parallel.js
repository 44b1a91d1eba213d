// Parallel coordinates (params -> one metric) and a scatter of two columns, for the
// compare page. The scatter is uPlot (points only); uPlot has no parallel
// coordinates, so those are a few lines of canvas: one vertical axis per column,
// one polyline per run, coloured by the metric (blue low, red high).

import uPlot from "uplot";

// A column of the runs: its values, and a scale mapping each to [0, 1].
export function columnScale(values) {
  const nums = values.filter((v) => v !== null && v !== "" && Number.isFinite(Number(v))).map(Number);
  if (nums.length && nums.length === values.filter((v) => v !== null && v !== "").length) {
    const lo = Math.min(...nums), hi = Math.max(...nums);
    return { numeric: true, lo, hi, at: (v) => (v === null || v === "" ? null : hi === lo ? 0.5 : (Number(v) - lo) / (hi - lo)) };
  }
  const cats = [...new Set(values.filter((v) => v !== null && v !== "").map(String))].sort();
  return { numeric: false, cats, at: (v) => (v === null || v === "" ? null : cats.length < 2 ? 0.5 : cats.indexOf(String(v)) / (cats.length - 1)) };
}

function heat(t) {  // 0 -> blue, 1 -> red, through purple
  const r = Math.round(47 + t * (211 - 47)), g = Math.round(91 - t * 22), b = Math.round(211 - t * (211 - 47));
  return `rgba(${r}, ${g}, ${b}, 0.55)`;
}

function label(v) {
  if (typeof v !== "number") { return String(v); }
  return Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(1) : String(Math.round(v * 1000) / 1000);
}

// Draw ``rows`` (one array of values per run, one value per column) on a canvas;
// the last column colours the lines. Leaves the count drawn in ``data-lines``.
export function parallelCoordinates(canvas, columns, rows) {
  const dpr = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 900, height = canvas.clientHeight || 320;
  canvas.width = width * dpr;
  canvas.height = height * dpr;
  const ctx = canvas.getContext("2d");
  ctx.scale(dpr, dpr);
  const style = getComputedStyle(document.documentElement);
  const text = style.getPropertyValue("--text").trim() || "#1d2330";
  const top = 28, bottom = height - 24, left = 60, right = width - 60;
  const scales = columns.map((_, c) => columnScale(rows.map((r) => r[c])));
  const xAt = (c) => (columns.length < 2 ? left : left + (c * (right - left)) / (columns.length - 1));
  const yAt = (t) => bottom - t * (bottom - top);
  const colour = scales[scales.length - 1];
  let drawn = 0;
  ctx.lineWidth = 1;
  for (const row of rows) {
    const t = colour.at(row[row.length - 1]);
    ctx.strokeStyle = t === null ? "rgba(128,128,128,0.35)" : heat(t);
    ctx.beginPath();
    let started = false;
    row.forEach((v, c) => {
      const s = scales[c].at(v);
      if (s === null) { started = false; return; }
      if (started) { ctx.lineTo(xAt(c), yAt(s)); } else { ctx.moveTo(xAt(c), yAt(s)); started = true; }
    });
    ctx.stroke();
    drawn += 1;
  }
  ctx.fillStyle = text;
  ctx.strokeStyle = text;
  ctx.font = "12px system-ui, sans-serif";
  ctx.textAlign = "center";
  columns.forEach((name, c) => {
    const x = xAt(c);
    ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
    ctx.fillText(name, x, top - 12);
    const s = scales[c];
    const ends = s.numeric ? [s.lo, s.hi] : [s.cats[0], s.cats[s.cats.length - 1]];
    ctx.fillText(ends[0] === undefined ? "" : label(ends[0]), x, bottom + 16);
    ctx.fillText(ends[1] === undefined ? "" : label(ends[1]), x, top - 1);
    if (!s.numeric) {
      s.cats.forEach((cat, k) => { if (k > 0 && k < s.cats.length - 1) { ctx.fillText(label(cat), x + 22, yAt(s.at(cat)) + 4); } });
    }
  });
  canvas.dataset.lines = String(drawn);
  return drawn;
}

// A scatter of two numeric columns (points only), one colour; returns the uPlot.
export function scatter(box, xs, ys, { xLabel, yLabel }) {
  const keep = xs.map((x, i) => (typeof x === "number" && typeof ys[i] === "number" ? i : -1)).filter((i) => i >= 0);
  keep.sort((a, b) => xs[a] - xs[b]);
  const data = [null, [keep.map((i) => xs[i]), keep.map((i) => ys[i])]];
  const axisColor = getComputedStyle(document.documentElement).getPropertyValue("--chart-axis").trim() || "#556";
  const plot = new uPlot({
    mode: 2, width: Math.max(300, box.clientWidth || 500), height: 320, legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: { x: { time: false, auto: true }, y: { auto: true } },
    axes: [{ stroke: axisColor, label: xLabel }, { stroke: axisColor, label: yLabel, size: 60 }],
    // The points path builder draws each point as the series' line (uPlot's scatter recipe).
    series: [{}, { label: yLabel, stroke: "#2f5bd3", fill: "rgba(47,91,211,0.5)", paths: uPlot.paths.points(),
      points: { show: false, size: 7, fill: "rgba(47,91,211,0.6)", stroke: "#2f5bd3", width: 1 },
      facets: [{ scale: "x", auto: true }, { scale: "y", auto: true }] }],
  }, data, box);
  box.dataset.points = String(keep.length);
  return plot;
}
