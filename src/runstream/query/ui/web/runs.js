// Runs: one run's detail page, and several runs side by side (the runs table is
// in runs_table.js).

import { api } from "./api.js";
import { artifactsSection } from "./artifacts.js";
import { metricCharts } from "./charts.js";
import { follow } from "./live.js";
import { parallelCoordinates, scatter } from "./parallel.js";
import {
  duration, el, keyValueTable, loading, metricText, put, runHref, stageBadge, statusBadge, when,
} from "./dom.js";
import { errorBox } from "./errors.js";

// A link to an experiment, showing its id until its name has been looked up.
function experimentLink(experimentId) {
  const link = el("a", { href: `#/experiments/${encodeURIComponent(experimentId)}` }, experimentId);
  api(`/api/v1/experiments/${encodeURIComponent(experimentId)}`)
    .then((exp) => { link.textContent = exp.name; link.title = `experiment ${experimentId}`; })
    .catch(() => {});  // the id stays: still a working link
  return link;
}

function infoTable(info) {
  const rows = [
    ["status", statusBadge(info.status)],
    ["run id", el("code", {}, info.run_id)],
    ["experiment", experimentLink(info.experiment_id)],
    ["user", info.user_id],
    ["source", [info.source_name, info.source_type].filter(Boolean).join(" · ")],
    ["git commit", info.git_commit ? el("code", {}, info.git_commit) : ""],
    ["started (UTC)", when(info.start_time)],
    ["ended (UTC)", when(info.end_time)],
    ["duration", duration(info.start_time, info.end_time)],
    ["parent run", info.parent_run_id ? el("a", { href: runHref(info.parent_run_id) }, info.parent_run_id) : ""],
    ["artifact root", info.artifact_uri ? el("code", {}, info.artifact_uri) : ""],
    ["lifecycle", info.lifecycle_stage],
    ["description", info.description],
  ].filter(([, v]) => v);
  return el("table", { class: "kv info" }, el("tbody", {}, rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))));
}

const METRIC_COLUMNS = ["value", "step", "min", "max", "count"];

function metricRow(key, m) {
  return el("tr", { "data-key": key }, el("th", {}, key),
    METRIC_COLUMNS.map((c) => el("td", { class: "num", "data-col": c }, metricText(m[c]))));
}

function metricsTable(metrics) {
  const entries = Object.entries(metrics).sort(([a], [b]) => a.localeCompare(b));
  return el("table", { id: "metrics" },
    el("thead", {}, el("tr", {}, ["key", "latest", "step", "min", "max", "count"].map((h) => el("th", {}, h)))),
    el("tbody", {}, entries.length ? entries.map(([k, m]) => metricRow(k, m))
      : el("tr", { class: "empty" }, el("td", { colspan: "6", class: "muted" }, "none"))));
}

// Keep the latest-metrics table of a live run current (latest by step, then time).
function liveMetricsTable(table, metrics) {
  const state = Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, { ...m }]));
  return (frame) => {
    frame.keys.forEach((key, i) => {
      const v = typeof frame.values[i] === "number" ? frame.values[i] : null;
      const m = state[key] || (state[key] = { value: null, step: -Infinity, timestamp: 0, min: null, max: null, count: 0 });
      m.count += 1;
      if (v !== null) { m.min = m.min === null ? v : Math.min(m.min, v); m.max = m.max === null ? v : Math.max(m.max, v); }
      if (frame.steps[i] > m.step || (frame.steps[i] === m.step && frame.timestamps[i] >= m.timestamp)) {
        m.value = frame.values[i]; m.step = frame.steps[i]; m.timestamp = frame.timestamps[i];
      }
      let row = table.querySelector(`tr[data-key="${CSS.escape(key)}"]`);
      if (!row) {
        table.querySelector("tr.empty")?.remove();
        row = metricRow(key, m);
        table.tBodies[0].append(row);
      }
      for (const c of METRIC_COLUMNS) { row.querySelector(`[data-col="${c}"]`).textContent = metricText(m[c]); }
    });
  };
}

// A running run's page follows the live tail: charts, the metrics table, status.
async function followLive(runId, charts, table, metrics, badge, liveNote) {
  const snapshot = await charts.ready;
  if (snapshot === null) { return; }
  const updateTable = liveMetricsTable(table, metrics);
  let partition = null;
  const close = follow([runId], {
    snapshot,
    onHello: (hello) => {
      partition = String(hello.partitions[runId]);
      charts.setLakeOffsetsAt(async (snap) => {
        const p = await api(`/api/v1/runs/${encodeURIComponent(runId)}/live/position?snapshot=${snap}`);
        return { [runId]: p.lake_offset };
      }, { [runId]: hello.lake_offsets[partition] });
    },
    onMetrics: (frame) => { charts.addLive(frame); updateTable(frame); },
    onStatus: (s) => {
      badge.replaceWith(statusBadge(s.status));
      liveNote.textContent = `ended ${when(s.end_time)}`;
      close();
    },
    onState: (state) => {
      liveNote.textContent = state === "live" ? "● live" : state;
      liveNote.className = `live-state ${state}`;
    },
  });
}

// The registry versions whose run is this one.
function runVersions(runId) {
  const filter = `run_id = '${runId.replace(/'/g, "")}'`;
  return api(`/api/v1/model-versions?filter=${encodeURIComponent(filter)}`).then((d) => d.model_versions);
}

function versionItem(v) {
  return el("li", {},
    el("a", { href: `#/models/${encodeURIComponent(v.name)}` }, `${v.name} v${v.version}`), " ",
    stageBadge(v.current_stage), v.aliases.map((a) => el("span", { class: "alias" }, "@" + a)));
}

async function versionsFromRun(section, versions) {
  try {
    const found = await versions;
    if (!found.length) { section.remove(); return; }
    section.replaceChildren(el("h3", {}, "Registered as"), el("ul", { class: "plain" }, found.map(versionItem)));
  } catch (err) {
    section.replaceChildren(errorBox(err, { title: "Could not look up registered versions" }));
  }
}

// MLflow 3's logged models of the run, each with the registry versions made from it.
async function loggedModelsOfRun(section, runId, versions) {
  try {
    const data = await api(`/api/v1/runs/${encodeURIComponent(runId)}/logged-models`);
    if (!data.logged_models.length) { section.remove(); return; }
    const made = await versions.catch(() => []);
    const pairs = (kv) => Object.entries(kv).map(([k, v]) => `${k}=${v}`).join(", ");
    section.replaceChildren(el("h3", {}, `Logged models (${data.logged_models.length})`),
      el("table", { class: "kv logged-models" },
        el("thead", {}, el("tr", {}, ["name", "model id", "status", "type", "params", "tags", "registered as"]
          .map((h) => el("th", {}, h)))),
        el("tbody", {}, data.logged_models.map((m) => el("tr", { "data-model-id": m.model_id },
          el("td", {}, m.name), el("td", {}, el("code", {}, m.model_id)), el("td", {}, statusBadge(m.status)),
          el("td", {}, m.model_type || ""), el("td", {}, pairs(m.params)), el("td", {}, pairs(m.tags)),
          el("td", {}, el("ul", { class: "plain" },
            made.filter((v) => v.source === m.artifact_location).map(versionItem))))))));
  } catch (err) {
    section.replaceChildren(errorBox(err, { title: "Could not look up the logged models" }));
  }
}

// The runs whose parent is this one (MLflow's mlflow.parentRunId tag).
async function childRuns(section, info) {
  try {
    const data = await api("/api/v1/runs/search", { experiment_ids: [info.experiment_id], max_results: 1000,
      filter: `tags.mlflow.parentRunId = '${info.run_id.replace(/'/g, "")}'` });
    if (!data.runs.length) { section.remove(); return; }
    section.replaceChildren(el("h3", {}, `Child runs (${data.runs.length}${data.next_page_token ? "+" : ""})`),
      el("ul", { class: "plain" }, data.runs.map((r) => el("li", {},
        el("a", { href: runHref(r.info.run_id) }, r.info.run_name || r.info.run_id), " ", statusBadge(r.info.status)))),
      data.runs.length > 1 ? el("a", { href: `#/compare?ids=${data.runs.map((r) => r.info.run_id).join(",")}` },
        "compare the child runs") : null);
  } catch (err) {
    section.replaceChildren(errorBox(err, { title: "Could not look up child runs" }));
  }
}

// One run: info, params, tags, latest metrics, charts, artifacts, registered versions.
export async function runView(root, runId, params = new URLSearchParams()) {
  root.append(loading());
  let run;
  try {
    run = await api(`/api/v1/runs/${encodeURIComponent(runId)}`);
  } catch (err) {
    root.replaceChildren(errorBox(err, { title: `Could not load run ${runId}`, retry: () => {
      root.replaceChildren(); runView(root, runId, params);
    } }));
    return;
  }
  const info = run.info;
  const name = info.run_name || info.run_id;
  const charts = el("div", { class: "charts-panel" });
  const registered = el("section", {});
  const children = el("section", { id: "child-runs" });
  const artifacts = el("section", {});
  const loggedModels = el("section", { id: "logged-models" });
  const badge = statusBadge(info.status);
  const liveNote = el("span", { class: "live-state" });
  const table = metricsTable(run.data.metrics);
  root.replaceChildren(el("h1", {}, name, " ", badge, liveNote),
    el("section", {}, el("h3", {}, "Charts"), charts),
    el("section", {}, el("h3", {}, "Metrics"), table),
    el("div", { class: "grid" },
      el("section", {}, el("h3", {}, "Run"), infoTable(info)),
      el("section", { id: "params" }, el("h3", {}, "Params"), keyValueTable(run.data.params)),
      el("section", { id: "tags" }, el("h3", {}, "Tags"), keyValueTable(run.data.tags))),
    children,
    artifacts,
    loggedModels,
    registered);
  const keys = Object.keys(run.data.metrics).sort();
  const chartView = metricCharts(charts, [info.run_id], keys, { [info.run_id]: name },
    { params, starts: { [info.run_id]: info.start_time } });
  if (info.status === "RUNNING") { followLive(info.run_id, chartView, table, run.data.metrics, badge, liveNote); }
  // The sections below the charts ask the server once the charts have their points, so
  // their reads do not compete with the histories for the server's two cores.
  chartView.ready.finally(() => {
    artifacts.replaceWith(artifactsSection(info.run_id));
    const versions = runVersions(info.run_id);
    versionsFromRun(registered, versions);
    loggedModelsOfRun(loggedModels, info.run_id, versions);
    childRuns(children, info);
  });
}

// /compare answers at most COMPARE_CHUNK runs: ask in chunks, merge the answers.
const COMPARE_CHUNK = 100;
async function compareInChunks(ids) {
  const chunks = [];
  for (let i = 0; i < ids.length; i += COMPARE_CHUNK) { chunks.push(ids.slice(i, i + COMPARE_CHUNK)); }
  const answers = await Promise.all(chunks.map((c) => api("/api/v1/compare", { run_ids: c })));
  const runs = answers.flatMap((a) => a.runs);
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.data.params)))].sort();
  const differ = keys.filter((k) => new Set(runs.map((r) => r.data.params[k] ?? null)).size > 1);
  return { runs, params_differ: differ, params_same: keys.filter((k) => !differ.includes(k)),
           metric_keys: [...new Set(answers.flatMap((a) => a.metric_keys))].sort() };
}

// Which params drive a metric: parallel coordinates (params that differ -> the
// metric) and a scatter of any two columns.
function driversSection(data) {
  const metricSelect = el("select", { "aria-label": "metric to explain" },
    data.metric_keys.map((k) => el("option", { value: k }, k)));
  const columns = [...data.params_differ.map((k) => `params.${k}`), ...data.metric_keys.map((k) => `metrics.${k}`)];
  const value = (r, col) => {
    const [kind, ...rest] = col.split(".");
    const key = rest.join(".");
    if (kind === "metrics") { const m = r.data.metrics[key]; return m && typeof m.value === "number" ? m.value : null; }
    const v = r.data.params[key];
    return v === undefined ? null : (Number.isFinite(Number(v)) && v !== "" ? Number(v) : v);
  };
  const canvas = el("canvas", { class: "parallel", role: "img", "aria-label": "parallel coordinates of params and a metric" });
  const drawParallel = () => {
    const axes = [...data.params_differ.slice(0, 10).map((k) => `params.${k}`), `metrics.${metricSelect.value}`];
    parallelCoordinates(canvas, axes, data.runs.map((r) => axes.map((c) => value(r, c))));
  };
  metricSelect.addEventListener("change", drawParallel);
  const pick = (label, dflt) => el("select", { "aria-label": label }, columns.map((c) => el("option", { value: c, selected: c === dflt }, c)));
  const xSel = pick("scatter x", columns[0]), ySel = pick("scatter y", columns[columns.length - 1]);
  const scatterBox = el("div", { class: "scatter" });
  let plot = null;
  const drawScatter = () => {
    plot?.destroy();
    scatterBox.replaceChildren();
    const numeric = (v) => (typeof v === "number" ? v : null);
    plot = scatter(scatterBox, data.runs.map((r) => numeric(value(r, xSel.value))),
      data.runs.map((r) => numeric(value(r, ySel.value))), { xLabel: xSel.value, yLabel: ySel.value });
  };
  xSel.addEventListener("change", drawScatter);
  ySel.addEventListener("change", drawScatter);
  const section = el("section", { id: "drivers" },
    el("h3", {}, "Params → metric"),
    data.metric_keys.length && data.params_differ.length
      ? [el("div", { class: "toolbar" }, el("label", {}, "metric ", metricSelect)), canvas]
      : el("p", { class: "muted" }, "No param differs between these runs, or no metric was logged."),
    el("h3", {}, "Scatter"),
    columns.length ? [el("div", { class: "toolbar" }, el("label", {}, "x ", xSel), el("label", {}, "y ", ySel)), scatterBox]
      : el("p", { class: "muted" }, "Nothing to plot."));
  requestAnimationFrame(() => {
    if (data.metric_keys.length && data.params_differ.length) { drawParallel(); }
    if (columns.length) { drawScatter(); }
  });
  return section;
}

// Several runs side by side: params that differ first (highlighted), latest
// metrics, params -> metric, and one chart per metric with a line per run.
export async function compareView(root, params) {
  const ids = [...new Set((params.get("ids") || "").split(",").filter(Boolean))];
  root.append(el("h1", {}, `Compare ${ids.length} runs`));
  if (!ids.length) { root.append(el("p", { class: "muted" }, "Select runs in a runs table first.")); return; }
  const body = el("div", {}, loading());
  root.append(body);
  let data;
  try {
    data = await compareInChunks(ids);
  } catch (err) {
    body.replaceChildren(errorBox(err, { title: "Could not compare the runs", retry: () => {
      root.replaceChildren(); compareView(root, params);
    } }));
    return;
  }
  const labels = Object.fromEntries(data.runs.map((r) => [r.info.run_id, r.info.run_name || r.info.run_id]));
  const differ = new Set(data.params_differ);
  const metricDiffers = (k) => new Set(data.runs.map((r) => JSON.stringify(r.data.metrics[k]?.value ?? null))).size > 1;
  const head = el("tr", {}, el("th", {}, ""), data.runs.map((r) => el("th", {},
    el("a", { href: runHref(r.info.run_id) }, labels[r.info.run_id]))));
  const row = (label, cls, cells) => el("tr", { class: cls }, el("th", {}, label), cells);
  const table = el("table", { id: "compare-table" }, el("thead", {}, head), el("tbody", {},
    row("status", null, data.runs.map((r) => el("td", {}, statusBadge(r.info.status)))),
    row("start (UTC)", null, data.runs.map((r) => el("td", {}, when(r.info.start_time)))),
    [...data.params_differ, ...data.params_same].map((k) => row("params." + k, differ.has(k) ? "differ" : "same",
      data.runs.map((r) => el("td", {}, r.data.params[k] ?? "")))),
    data.metric_keys.map((k) => row("metrics." + k, metricDiffers(k) ? "differ" : "same",
      data.runs.map((r) => el("td", { class: "num" }, r.data.metrics[k] ? metricText(r.data.metrics[k].value) : ""))))));
  const onlyDiff = el("input", { type: "checkbox", id: "only-differ" });
  onlyDiff.addEventListener("change", () => table.classList.toggle("only-differ", onlyDiff.checked));
  const missing = ids.filter((id) => !labels[id]);
  const charts = el("div", { class: "charts-panel" });
  put(body,
    missing.length ? el("p", { class: "error" }, `Not found: ${missing.join(", ")}`) : null,
    el("label", { class: "toggle" }, onlyDiff, " show only rows that differ"),
    driversSection(data),
    el("h3", {}, "Runs side by side"),
    el("div", { class: "table-wrap" }, table),
    el("h3", {}, "Charts"), charts);
  metricCharts(charts, data.runs.map((r) => r.info.run_id), data.metric_keys, labels,
    { params, starts: Object.fromEntries(data.runs.map((r) => [r.info.run_id, r.info.start_time])) });
}
