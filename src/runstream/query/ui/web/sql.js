// Read-only SQL over the lake's tables, with the service's row and time limits; a
// result can be drawn as a line or bar chart (uPlot) of one column against another.
// URL: #/sql?q=<statement>&chart=line|bar&x=<column>&y=<column>

import uPlot from "uplot";

import { api } from "./api.js";
import { el, loading } from "./dom.js";
import { errorBox } from "./errors.js";

const DEFAULT_SQL = "SELECT run_name, status, start_time FROM runs ORDER BY start_time DESC LIMIT 20";

function cell(v) {
  if (v === null || v === undefined) { return ""; }
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function numeric(v) {
  const n = typeof v === "number" ? v : Number.parseFloat(v);
  return Number.isFinite(n) ? n : null;
}

function keepInUrl(changes) {
  const q = new URLSearchParams(location.hash.split("?")[1] || "");
  for (const [k, v] of Object.entries(changes)) { if (v) { q.set(k, v); } else { q.delete(k); } }
  history.replaceState(null, "", `#/sql?${q}`);
}

// A chart of column ``y`` against column ``x`` (its row number when x is not numeric).
function drawChart(box, result, kind, xCol, yCol) {
  box.replaceChildren();
  const xi = result.columns.indexOf(xCol), yi = result.columns.indexOf(yCol);
  if (yi < 0) { return; }
  const rawX = result.rows.map((r, i) => (xi < 0 ? i : r[xi]));
  const byNumber = rawX.every((v) => numeric(v) !== null);
  const pairs = result.rows.map((r, i) => [byNumber ? numeric(rawX[i]) : i, numeric(r[yi])]);
  if (byNumber) { pairs.sort((a, b) => a[0] - b[0]); }
  const axis = getComputedStyle(document.documentElement).getPropertyValue("--chart-axis").trim() || "#556";
  const labels = byNumber ? null : rawX.map(cell);
  new uPlot({
    width: Math.max(300, box.clientWidth || 800), height: 300, legend: { show: false },
    scales: { x: { time: false } },
    axes: [{ stroke: axis, label: xCol, values: labels ? (u, ticks) => ticks.map((t) => labels[Math.round(t)] ?? "") : undefined },
      { stroke: axis, label: yCol, size: 60 }],
    series: [{}, { label: yCol, stroke: "#2f5bd3", width: 1.5, fill: kind === "bar" ? "rgba(47,91,211,0.55)" : undefined,
      paths: kind === "bar" ? uPlot.paths.bars({ size: [0.7, 60] }) : uPlot.paths.linear(),
      points: { show: kind !== "bar" && pairs.length < 200 } }],
  }, [pairs.map((p) => p[0]), pairs.map((p) => p[1])], box);
  box.dataset.kind = kind;
  box.dataset.points = String(pairs.filter((p) => p[1] !== null).length);
}

function chartControls(result, params) {
  const numericCols = result.columns.filter((c, i) => result.rows.some((r) => numeric(r[i]) !== null));
  if (!numericCols.length || !result.rows.length) { return null; }
  const pick = (label, options, value) => el("select", { "aria-label": label },
    options.map((o) => el("option", { value: o, selected: o === value }, o)));
  const kind = pick("chart", ["table only", "line", "bar"], params.get("chart") || "table only");
  const x = pick("chart x", result.columns, params.get("x") || result.columns[0]);
  const y = pick("chart y", numericCols, params.get("y") || numericCols[numericCols.length - 1]);
  const box = el("div", { class: "sql-chart" });
  const redraw = () => {
    keepInUrl({ chart: kind.value === "table only" ? null : kind.value, x: x.value, y: y.value });
    if (kind.value === "table only") { box.replaceChildren(); delete box.dataset.kind; return; }
    drawChart(box, result, kind.value, x.value, y.value);
  };
  for (const s of [kind, x, y]) { s.addEventListener("change", redraw); }
  requestAnimationFrame(() => { if (kind.value !== "table only") { redraw(); } });
  return [el("div", { class: "toolbar" }, el("label", {}, "draw as ", kind), el("label", {}, "x ", x),
    el("label", {}, "y ", y)), box];
}

export function sqlView(root, params = new URLSearchParams()) {
  const area = el("textarea", { id: "sql", spellcheck: "false", "aria-label": "SQL statement" },
    params.get("q") || DEFAULT_SQL);
  const out = el("div", {});
  const run = async () => {
    out.replaceChildren(loading("running…"));
    keepInUrl({ q: area.value });
    try {
      const r = await api("/api/v1/sql", { sql: area.value });
      out.replaceChildren(el("p", { class: "muted" }, `${r.row_count} rows, ${r.elapsed_ms} ms${r.truncated ? " (truncated)" : ""}`),
        ...(chartControls(r, new URLSearchParams(location.hash.split("?")[1] || "")) || []),
        el("div", { class: "table-wrap" }, el("table", { id: "sql-result" }, el("thead", {}, el("tr", {}, r.columns.map((c) => el("th", {}, c)))),
          el("tbody", {}, r.rows.map((row) => el("tr", {}, row.map((v) => el("td", {}, cell(v)))))))));
    } catch (err) {
      out.replaceChildren(errorBox(err, { title: "The statement failed", source: area.value, retry: run }));
    }
  };
  area.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { run(); } });
  root.append(el("h1", {}, "SQL (read-only)"), area,
    el("div", { class: "toolbar" }, el("button", { class: "primary", onclick: run }, "Run"),
      el("span", { class: "muted" }, "Ctrl+Enter runs the statement")), out);
  if (params.get("q")) { run(); }
}
