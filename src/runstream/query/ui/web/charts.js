// Metric charts for one or several runs: one history request, one canvas per key.

import { api } from "./api.js";
import { el } from "./dom.js";
import { errorBox } from "./errors.js";
import { PALETTE, drawChart } from "./chart.js";

const MAX_SERIES = 1000;  // the history endpoint's limit of runs x keys
export const MAX_CHARTS = 12;

// Fill ``grid`` with a chart per metric key of ``runIds``; ``labels`` maps run id -> name.
export async function metricCharts(grid, runIds, keys, labels) {
  const shown = keys.slice(0, Math.max(1, Math.min(MAX_CHARTS, Math.floor(MAX_SERIES / runIds.length))));
  if (!shown.length) { grid.replaceChildren(el("p", { class: "muted" }, "No metrics logged.")); return; }
  const boxes = new Map(shown.map((key) => [key, el("div", { class: "chart", "data-key": key },
    el("h4", {}, key), el("p", { class: "muted" }, "loading…"))]));
  grid.replaceChildren(...boxes.values());
  if (keys.length > shown.length) {
    grid.append(el("p", { class: "muted" }, `Charts for the first ${shown.length} of ${keys.length} metrics.`));
  }
  let data;
  try {
    data = await api("/api/v1/metrics/history", { run_ids: runIds, keys: shown, max_points: 1000 });
  } catch (err) {
    grid.replaceChildren(errorBox(err, { title: "Could not load the metric histories",
      retry: () => metricCharts(grid, runIds, keys, labels) }));
    return;
  }
  for (const [key, box] of boxes) {
    // One colour per run, the same in every chart of the page.
    const series = runIds.flatMap((id, k) => data.series.filter((s) => s.key === key && s.run_id === id)
      .map((s) => ({ label: labels[id] || id, xs: s.steps, ys: s.values, color: PALETTE[k % PALETTE.length],
                     note: s.downsampled ? ` (${s.total_points} points, downsampled)` : "" })));
    const canvas = el("canvas", { "aria-label": `chart of ${key}`, role: "img" });
    const legend = el("div", { class: "legend" }, series.map((s) => el("span", {},
      el("i", { style: `background:${s.color}` }), s.label + s.note)));
    box.replaceChildren(el("h4", {}, key), canvas, legend);
    drawChart(canvas, series, "step");
  }
}
