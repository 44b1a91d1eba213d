// Metric charts of one or many runs: one chart per metric key with a line per run,
// a shared legend that hides and shows runs, the x axis (step, wall time, time
// since the run started), smoothing (EMA or running mean, the raw line faint
// behind), log y, drag to zoom (a new server-side downsample of the zoomed range,
// so detail appears), and live points appended as the run logs them.
//
// The lake is the source of truth. A chart's lake part was read at some snapshot;
// live points (each with its log offset) are drawn only from the offset the lake
// held in that snapshot on, so a point is never drawn twice when the lake catches up.

import { api } from "./api.js";
import { el, metricText } from "./dom.js";
import { errorBox } from "./errors.js";
import { createPlot, runColor, xText } from "./plot.js";
import { smooth } from "./smooth.js";

const MAX_KEYS = 24;          // charts per page (more keys: the first ones, said so)
const MAX_POINTS = 1500;      // per series per request: about two per pixel of a chart
const RUNS_PER_REQUEST = 100; // the history endpoint's limit
const SERIES_PER_REQUEST = 1000;
const LIVE_REFETCH_POINTS = 20_000; // more live points than this: ask the lake for a downsample
const REDRAW_MS = 200;

export const X_MODES = { step: "step", time: "wall time", relative: "relative time" };
export const SMOOTHING = { none: "none", ema: "EMA", mean: "running mean" };

// Chart settings from the page's URL parameters.
export function chartSettings(params) {
  const x = X_MODES[params.get("x")] ? params.get("x") : "step";
  const kind = SMOOTHING[params.get("smooth")] ? params.get("smooth") : "none";
  const fallback = kind === "mean" ? 10 : 0.6;
  const amount = Number.parseFloat(params.get("amount"));
  return { x, smooth: kind, amount: Number.isFinite(amount) ? amount : fallback, logy: params.get("logy") === "1" };
}

function keepInUrl(settings) {
  const [path, query] = location.hash.split("?");
  const q = new URLSearchParams(query || "");
  const put = (k, v, dflt) => { if (v === dflt) { q.delete(k); } else { q.set(k, String(v)); } };
  put("x", settings.x, "step");
  put("smooth", settings.smooth, "none");
  put("amount", settings.smooth === "none" ? null : settings.amount, null);
  put("logy", settings.logy ? "1" : "0", "0");
  const next = q.toString() ? `${path}?${q}` : path;
  if (next !== location.hash) { history.replaceState(null, "", next); }
}

function finiteOrNull(v) {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

// POST /metrics/history in as many requests as the endpoint's limits need.
async function fetchHistories(runIds, keys, range) {
  const perRequest = Math.max(1, Math.min(RUNS_PER_REQUEST, Math.floor(SERIES_PER_REQUEST / keys.length)));
  const chunks = [];
  for (let i = 0; i < runIds.length; i += perRequest) { chunks.push(runIds.slice(i, i + perRequest)); }
  const body = (ids) => ({ run_ids: ids, keys, max_points: MAX_POINTS,
    ...(range ? { min_step: Math.floor(range[0]), max_step: Math.ceil(range[1]) } : {}) });
  const answers = await Promise.all(chunks.map((ids) => api("/api/v1/metrics/history", body(ids))));
  return { series: answers.flatMap((a) => a.series), snapshot: Math.min(...answers.map((a) => a.snapshot_id)) };
}

// The lake part of one series: columns with values as numbers or null.
function lakeSeries(s) {
  return { steps: s.steps, times: s.timestamps, values: s.values.map(finiteOrNull),
           total: s.total_points, downsampled: s.downsampled };
}

// Live points of one (run, key), in arrival order.
function liveBuffer() {
  return { steps: [], times: [], values: [], offsets: [] };
}

export function metricCharts(grid, runIds, keys, labels, { params = new URLSearchParams(), starts = {} } = {}) {
  const settings = chartSettings(params);
  const runs = runIds.map((id, i) => ({ id, label: labels[id] || id, color: runColor(i), shown: true }));
  const shownKeys = keys.slice(0, MAX_KEYS);
  const live = new Map();        // runId -> key -> live buffer
  const charts = new Map();      // key -> chart state
  let snapshot = null;
  const toolbar = chartToolbar(settings, () => { keepInUrl(settings); for (const c of charts.values()) { rebuild(c); } });
  const legend = el("div", { class: "legend", role: "group", "aria-label": "runs on the charts" });
  const body = el("div", { class: "grid charts" });
  grid.replaceChildren(toolbar, legend, body);
  if (!shownKeys.length) { body.replaceChildren(el("p", { class: "muted" }, "No metrics logged.")); }
  if (keys.length > shownKeys.length) {
    grid.append(el("p", { class: "muted" }, `Charts for the first ${shownKeys.length} of ${keys.length} metrics.`));
  }
  for (const run of runs) {
    const button = el("button", { class: "run-toggle", "aria-pressed": "true", "data-run-id": run.id },
      el("i", { style: `background:${run.color}` }), run.label);
    button.addEventListener("click", () => {
      run.shown = !run.shown;
      button.setAttribute("aria-pressed", String(run.shown));
      for (const c of charts.values()) { rebuild(c); }
    });
    legend.append(button);
  }

  function addChart(key) {
    const c = { key, lake: new Map(), lakeOffsets: {}, range: null, plot: null, drawn: null,
      box: el("div", { class: "chart", "data-key": key }),
      plotBox: el("div", { class: "plot" }),
      readout: el("div", { class: "readout muted", "aria-live": "off" }, "\u00a0"),
      note: el("span", { class: "muted chart-note" }),
      reset: el("button", { class: "link reset-zoom", hidden: true }, "reset zoom") };
    c.reset.addEventListener("click", () => zoom(c, null));
    c.box.append(el("h4", {}, key, " ", c.note, " ", c.reset), c.plotBox, c.readout);
    c.plotBox.append(el("p", { class: "muted loading" }, "loading…"));
    charts.set(key, c);
    body.append(c.box);
    return c;
  }

  // x of one point in the chart's units.
  function xOf(runId, step, time, origin) {
    if (settings.x === "time") { return time / 1000; }
    if (settings.x === "relative") { return (time - origin) / 1000; }
    return step;
  }

  // The series one chart draws, from its lake part and the live points past the
  // offset its lake part was read at.
  function seriesOf(c) {
    const out = [];
    runs.forEach((run) => {
      const lake = c.lake.get(run.id);
      const buf = live.get(run.id)?.get(c.key);
      if (!lake && !buf) { return; }
      const steps = [], times = [], values = [];
      if (lake) { steps.push(...lake.steps); times.push(...lake.times); values.push(...lake.values); }
      if (buf) {
        const from = c.lakeOffsets[run.id] ?? 0;
        for (let i = 0; i < buf.steps.length; i += 1) {
          if (buf.offsets[i] < from) { continue; }
          if (c.range && (buf.steps[i] < c.range[0] || buf.steps[i] > c.range[1])) { continue; }
          steps.push(buf.steps[i]); times.push(buf.times[i]); values.push(buf.values[i]);
        }
      }
      const order = steps.map((_, i) => i);
      if (buf && buf.steps.length) { order.sort((a, b) => steps[a] - steps[b] || times[a] - times[b]); }
      const origin = starts[run.id] ?? (times.length ? Math.min(...times.slice(0, 1000)) : 0);
      const xs = order.map((i) => xOf(run.id, steps[i], times[i], origin));
      const raw = order.map((i) => (settings.logy && values[i] !== null && values[i] <= 0 ? null : values[i]));
      const withRaw = settings.smooth !== "none";
      if (withRaw) { out.push({ label: run.label, color: run.color, xs, ys: raw, faint: true, show: run.shown }); }
      out.push({ label: run.label, color: run.color, xs, show: run.shown,
                 ys: withRaw ? smooth(raw, settings.smooth, settings.amount) : raw });
    });
    return out;
  }

  function rebuild(c) {
    if (c.lake.size === 0 && !runs.some((r) => live.get(r.id)?.get(c.key))) { return; }
    const series = seriesOf(c);
    c.plot?.destroy();
    c.plotBox.replaceChildren();
    const xRange = c.range && settings.x === "step" ? c.range : null;
    c.plot = createPlot(c.plotBox, { series, xMode: settings.x, logY: settings.logy, xRange,
      onZoom: (lo, hi) => zoom(c, toStepRange(c, lo, hi)),
      onReset: () => { if (c.range) { zoom(c, null); } },
      onHover: (x, rows) => showReadout(c, x, rows) });
    c.reset.hidden = !c.range;
    const points = series.filter((s) => !s.faint).reduce((n, s) => n + s.ys.filter((v) => v !== null).length, 0);
    c.box.dataset.points = String(points);
    c.box.dataset.range = c.range ? `${c.range[0]}-${c.range[1]}` : "";
    c.drawn = series;
    c.box.runstreamSeries = series;  // what is drawn, for tests and the benchmark
    c.box.runstreamPlot = c.plot.plot;
    const totals = [...c.lake.values()];
    const total = totals.reduce((n, s) => n + s.total, 0);
    c.note.textContent = totals.some((s) => s.downsampled) ? `${total.toLocaleString("en")} points, downsampled` : "";
  }

  // A dragged x range in the chart's units, as the step range to ask the lake for.
  function toStepRange(c, lo, hi) {
    if (settings.x === "step") { return [Math.floor(lo), Math.ceil(hi)]; }
    let min = Infinity, max = -Infinity;
    for (const s of c.drawn || []) {
      const run = runs.find((r) => r.label === s.label);
      const lake = run && c.lake.get(run.id);
      if (!lake) { continue; }
      s.xs.forEach((x, i) => {
        if (x >= lo && x <= hi && i < lake.steps.length) {
          min = Math.min(min, lake.steps[i]); max = Math.max(max, lake.steps[i]);
        }
      });
    }
    return Number.isFinite(min) ? [min, max] : null;
  }

  function showReadout(c, x, rows) {
    if (x === null || !rows.length) { c.readout.textContent = "\u00a0"; return; }
    const at = rows.find((r) => r.at !== null)?.at ?? x;  // the x of the points shown, not the pixel's
    c.readout.replaceChildren(el("b", {}, `${X_MODES[settings.x]} ${xText(at, settings.x)}`),
      ...rows.map((r) => el("span", { class: "value" }, el("i", { style: `background:${r.color}` }),
        `${r.label} ${r.value === null ? "–" : metricText(r.value)}`)));
  }

  async function load(c, range) {
    const answer = await fetchHistories(runs.map((r) => r.id), [c.key], range);
    const offsets = await lakeOffsetsAt(answer.snapshot);
    c.lake = new Map(answer.series.map((s) => [s.run_id, lakeSeries(s)]));
    c.lakeOffsets = offsets;
    c.range = range;
  }

  async function zoom(c, range) {
    if (range && range[1] <= range[0]) { return; }
    c.plotBox.classList.add("busy");
    try {
      await load(c, range);
      rebuild(c);
    } catch (err) {
      c.plotBox.replaceChildren(errorBox(err, { title: `Could not load ${c.key}`, retry: () => zoom(c, range) }));
    } finally {
      c.plotBox.classList.remove("busy");
    }
  }

  // Live offsets the lake held at ``snap``, for the runs that have live points.
  let lakeOffsetsAt = async () => ({});

  async function start() {
    for (const key of shownKeys) { addChart(key); }
    if (!shownKeys.length) { return null; }
    try {
      const answer = await fetchHistories(runs.map((r) => r.id), shownKeys, null);
      snapshot = answer.snapshot;
      for (const s of answer.series) { charts.get(s.key)?.lake.set(s.run_id, lakeSeries(s)); }
    } catch (err) {
      body.replaceChildren(errorBox(err, { title: "Could not load the metric histories",
        retry: () => { body.replaceChildren(); charts.clear(); start(); } }));
      return null;
    }
    for (const c of charts.values()) {
      if (c.lake.size) { rebuild(c); } else { c.plotBox.replaceChildren(el("p", { class: "muted" }, "No points.")); }
    }
    return snapshot;
  }

  // Live: points of a "metrics" frame of the live stream, drawn within REDRAW_MS.
  const dirty = new Set();
  let timer = null;
  function addLive(frame) {
    const perKey = live.get(frame.run_id) || new Map();
    live.set(frame.run_id, perKey);
    frame.keys.forEach((key, i) => {
      if (!charts.has(key)) {
        if (charts.size >= MAX_KEYS) { return; }
        addChart(key).plotBox.replaceChildren();
      }
      const buf = perKey.get(key) || liveBuffer();
      perKey.set(key, buf);
      buf.steps.push(frame.steps[i]); buf.times.push(frame.timestamps[i]);
      buf.values.push(finiteOrNull(frame.values[i])); buf.offsets.push(frame.offset);
      dirty.add(key);
    });
    if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        for (const key of dirty) {
          const c = charts.get(key);
          const held = Math.max(0, ...runs.map((r) => live.get(r.id)?.get(key)?.steps.length || 0));
          if (held > LIVE_REFETCH_POINTS && !c.range && !c.refetching) {
            c.refetching = true;
            zoom(c, null).finally(() => { c.refetching = false; });
          } else { rebuild(c); }
        }
        dirty.clear();
      }, REDRAW_MS);
    }
  }

  window.addEventListener("resize", () => { for (const c of charts.values()) { c.plot?.resize(); } });
  return {
    ready: start(),
    addLive,
    // ``fn(snapshot) -> {runId: offset}``: where the lake was at a snapshot (for zooms).
    setLakeOffsetsAt(fn, initial) {
      lakeOffsetsAt = fn;
      for (const c of charts.values()) { c.lakeOffsets = { ...initial }; }
    },
  };
}

function chartToolbar(settings, changed) {
  const select = (label, options, value, onChange) => {
    const node = el("select", { "aria-label": label },
      Object.entries(options).map(([k, text]) => el("option", { value: k, selected: k === value }, text)));
    node.addEventListener("change", () => onChange(node.value));
    return el("label", {}, label, " ", node);
  };
  const amount = el("input", { type: "number", class: "amount", "aria-label": "smoothing amount",
    min: "0", step: "any", value: String(settings.amount) });
  amount.hidden = settings.smooth === "none";
  amount.addEventListener("change", () => {
    const v = Number.parseFloat(amount.value);
    if (Number.isFinite(v)) { settings.amount = v; changed(); }
  });
  const logy = el("input", { type: "checkbox", "aria-label": "log scale y", checked: settings.logy });
  logy.addEventListener("change", () => { settings.logy = logy.checked; changed(); });
  return el("div", { class: "toolbar chart-toolbar" },
    select("x axis", X_MODES, settings.x, (v) => { settings.x = v; changed(); }),
    select("smoothing", SMOOTHING, settings.smooth, (v) => {
      settings.smooth = v;
      settings.amount = v === "mean" ? 10 : 0.6;
      amount.value = String(settings.amount);
      amount.hidden = v === "none";
      changed();
    }),
    amount,
    el("label", {}, logy, " log y"),
    el("span", { class: "muted" }, "drag to zoom, double-click to reset"));
}
