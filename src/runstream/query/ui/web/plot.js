// One chart on uPlot (npm "uplot"): several series, each with its own x values
// (uPlot's faceted mode, so runs logged at different steps need no shared grid),
// x as step, wall time or relative time, linear or log y, drag to zoom (the caller
// fetches the zoomed range), double-click to reset, and a readout of every
// series' value at the cursor.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

// Colours of the first runs; later runs get evenly spread hues.
export const PALETTE = ["#2f5bd3", "#d3452f", "#2f9e5b", "#9b3fd3", "#d39b2f", "#2fa9d3", "#6b6b6b", "#d32f8a",
  "#7a8f1f", "#1f7a8f"];

export function runColor(i) {
  return i < PALETTE.length ? PALETTE[i] : `hsl(${Math.round((i * 137.508) % 360)}, 62%, 46%)`;
}

// ``#rrggbb`` or ``hsl(...)`` with opacity ``a``.
export function faded(color, a) {
  if (color.startsWith("#")) {
    const n = parseInt(color.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }
  return color.replace("hsl(", "hsla(").replace(")", `, ${a})`);
}

export function durationText(seconds) {
  const s = Math.abs(seconds);
  const sign = seconds < 0 ? "-" : "";
  if (s < 60) { return `${sign}${Math.round(s * 10) / 10}s`; }
  if (s < 3600) { return `${sign}${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`; }
  return `${sign}${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function xText(x, mode) {
  if (mode === "time") { return new Date(x * 1000).toISOString().replace("T", " ").slice(0, 19); }
  if (mode === "relative") { return durationText(x); }
  return String(Math.round(x));
}

// Index of the point of sorted ``xs`` nearest to ``x`` (-1 when empty).
export function nearest(xs, x) {
  let lo = 0, hi = xs.length - 1;
  if (hi < 0) { return -1; }
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (xs[mid] < x) { lo = mid + 1; } else { hi = mid; }
  }
  if (lo > 0 && Math.abs(xs[lo - 1] - x) <= Math.abs(xs[lo] - x)) { return lo - 1; }
  return lo;
}

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

// Draw ``series`` ([{label, color, xs, ys, faint, show}]) in ``box``.
//   xMode: "step" | "time" | "relative" (x values already in those units: steps or seconds)
//   logY: log10 y axis (the caller has turned values <= 0 into gaps)
//   xRange: [lo, hi] to show, or null for the data's range
//   onZoom(lo, hi): a range was dragged; onReset(): double-click
//   onHover(x, rows): rows = [{label, color, value}] of the series not faint, at x
// Returns {plot, setData(series), setShown(index, show), resize(), destroy()}.
export function createPlot(box, { series, xMode, logY, height = 260, xRange = null, onZoom, onReset, onHover }) {
  const axisColor = cssVar("--chart-axis", "#556");
  const gridColor = cssVar("--chart-grid", "rgba(0,0,0,0.07)");
  const axis = (extra) => ({ stroke: axisColor, grid: { stroke: gridColor, width: 1 },
    ticks: { stroke: gridColor, width: 1 }, ...extra });
  let current = series;
  const opts = {
    mode: 2,
    width: Math.max(200, box.clientWidth || 600),
    height,
    legend: { show: false },
    padding: [8, 12, 0, 0],
    cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
    scales: {
      x: { time: xMode === "time", auto: xRange === null, range: xRange ? () => xRange : undefined },
      y: logY ? { distr: 3, log: 10 } : { auto: true },
    },
    axes: [
      axis(xMode === "relative" ? { values: (u, vals) => vals.map(durationText) } : {}),
      axis({ size: 60, values: (u, vals) => vals.map((v) => (v === null ? "" : shortNumber(v))) }),
    ],
    series: [{}, ...series.map((s) => seriesOpts(s))],
    hooks: {
      setSelect: [(u) => {
        const { left, width } = u.select;
        if (width > 4 && onZoom) {
          const lo = u.posToVal(left, "x"), hi = u.posToVal(left + width, "x");
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          onZoom(lo, hi);
        }
      }],
      setCursor: [(u) => {
        if (!onHover) { return; }
        const left = u.cursor.left;
        if (left === undefined || left < 0) { onHover(null, []); return; }
        const x = u.posToVal(left, "x");
        const rows = [];
        current.forEach((s, i) => {
          if (s.faint || !u.series[i + 1].show) { return; }
          const k = nearest(s.xs, x);
          rows.push({ label: s.label, color: s.color, value: k < 0 ? null : s.ys[k], at: k < 0 ? null : s.xs[k] });
        });
        onHover(x, rows);
      }],
    },
  };
  const plot = new uPlot(opts, toData(series), box);
  plot.over.addEventListener("dblclick", () => { if (onReset) { onReset(); } });
  return {
    plot,
    setData(next, range) {
      current = next;
      if (range) { plot.scales.x.range = () => range; plot.scales.x.auto = false; }
      plot.setData(toData(next), true);
    },
    setShown(index, show) { plot.setSeries(index + 1, { show }); },
    resize() { plot.setSize({ width: Math.max(200, box.clientWidth || 600), height }); },
    destroy() { plot.destroy(); },
  };
}

function seriesOpts(s) {
  return {
    label: s.label,
    stroke: s.faint ? faded(s.color, 0.22) : s.color,
    width: s.faint ? 1 : 1.5,
    show: s.show !== false,
    spanGaps: false,
    paths: uPlot.paths.linear(),
    points: { show: false },
    facets: [{ scale: "x", auto: true }, { scale: "y", auto: true }],
  };
}

function toData(series) {
  return [null, ...series.map((s) => [s.xs, s.ys])];
}

function shortNumber(v) {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) { return v.toExponential(1); }
  return String(Math.round(v * 1e4) / 1e4);
}
