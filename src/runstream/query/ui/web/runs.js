// Runs: an experiment's runs table with the filter box, one run's detail page,
// and several runs side by side.

import { api } from "./api.js";
import { artifactsSection } from "./artifacts.js";
import { metricCharts } from "./charts.js";
import {
  duration, el, keyValueTable, loading, metricText, put, runHref, stageBadge, statusBadge, when,
} from "./dom.js";
import { errorBox } from "./errors.js";

const PAGE = 100;
const MAX_COLUMNS = 10;

function searchHash(experimentId, filter, order) {
  const q = new URLSearchParams();
  if (filter) { q.set("filter", filter); }
  if (order) { q.set("order", order); }
  const query = q.toString();
  return `#/experiments/${encodeURIComponent(experimentId)}${query ? "?" + query : ""}`;
}

function columnKeys(runs, part) {
  return [...new Set(runs.flatMap((r) => Object.keys(r.data[part])))].sort();
}

// The runs of one experiment; returns {update(params)} so a new filter in the URL
// reruns the search without rebuilding the page (the filter box keeps its focus).
export function experimentView(root, experimentId, params) {
  const title = el("h1", {}, "Runs");
  const subtitle = el("p", { class: "muted" }, `experiment ${experimentId}`);
  const filterInput = el("input", { type: "search", id: "run-filter", "aria-label": "filter runs",
    placeholder: "metrics.acc > 0.9 AND params.lr = '0.1'", spellcheck: "false", autocomplete: "off" });
  const orderInput = el("input", { type: "search", id: "run-order", "aria-label": "order runs by",
    placeholder: "order by, e.g. metrics.acc DESC", spellcheck: "false", autocomplete: "off" });
  const selected = new Map();
  const compareButton = el("button", { id: "compare", disabled: true }, "Compare");
  const results = el("div", { class: "results" });
  const syncCompare = () => {
    compareButton.disabled = selected.size < 2;
    compareButton.textContent = selected.size ? `Compare ${selected.size} runs` : "Compare";
  };
  compareButton.addEventListener("click", () => {
    if (selected.size >= 2) { location.hash = `#/compare?ids=${[...selected.keys()].join(",")}`; }
  });
  const submit = () => {
    const hash = searchHash(experimentId, filterInput.value.trim(), orderInput.value.trim());
    if (location.hash === hash) { search(); } else { location.hash = hash; }
  };
  for (const input of [filterInput, orderInput]) {
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { submit(); } });
  }
  root.append(title, subtitle,
    el("div", { class: "toolbar" }, filterInput, orderInput,
      el("button", { class: "primary", onclick: submit }, "Search"), compareButton),
    results);

  api(`/api/v1/experiments/${encodeURIComponent(experimentId)}`).then((exp) => {
    title.textContent = exp.name;
    subtitle.textContent = `experiment ${exp.experiment_id}` +
      (exp.lifecycle_stage !== "active" ? ` · ${exp.lifecycle_stage}` : "") +
      (exp.artifact_location ? ` · ${exp.artifact_location}` : "");
  }).catch((err) => { subtitle.replaceWith(errorBox(err, { title: "Could not load the experiment" })); });

  function renderTable(runs, more) {
    if (!runs.length) { return [el("p", { class: "muted empty" }, "No runs match.")]; }
    const paramKeys = columnKeys(runs, "params");
    const metricKeys = columnKeys(runs, "metrics");
    const pk = paramKeys.slice(0, MAX_COLUMNS), mk = metricKeys.slice(0, MAX_COLUMNS);
    const head = el("tr", {}, el("th", {}, ""), el("th", {}, "run"), el("th", {}, "status"),
      el("th", {}, "start (UTC)"), el("th", {}, "duration"), el("th", {}, "user"),
      pk.map((k) => el("th", { class: "param" }, "params." + k)),
      mk.map((k) => el("th", { class: "metric" }, "metrics." + k)));
    const rows = runs.map((r) => {
      const id = r.info.run_id, name = r.info.run_name || id;
      const box = el("input", { type: "checkbox", "aria-label": `select ${name}`, checked: selected.has(id) });
      box.addEventListener("change", () => {
        if (box.checked) { selected.set(id, name); } else { selected.delete(id); }
        syncCompare();
      });
      return el("tr", { "data-run-id": id }, el("td", {}, box),
        el("td", {}, el("a", { href: runHref(id) }, name)),
        el("td", {}, statusBadge(r.info.status)), el("td", {}, when(r.info.start_time)),
        el("td", { class: "num" }, duration(r.info.start_time, r.info.end_time)), el("td", {}, r.info.user_id || ""),
        pk.map((k) => el("td", {}, r.data.params[k] ?? "")),
        mk.map((k) => el("td", { class: "num" }, r.data.metrics[k] ? metricText(r.data.metrics[k].value) : "")));
    });
    const hidden = paramKeys.length - pk.length + metricKeys.length - mk.length;
    return [el("div", { class: "table-wrap" }, el("table", { id: "runs" }, el("thead", {}, head), el("tbody", {}, rows))),
      el("p", { class: "muted", id: "run-count" }, `${runs.length} run${runs.length === 1 ? "" : "s"}` +
        (more ? " shown; more match" : "") + (hidden ? ` · ${hidden} more columns not shown` : "")),
      more];
  }

  let generation = 0;
  async function search() {
    const mine = ++generation;
    const filter = filterInput.value.trim(), order = orderInput.value.trim();
    const body = { experiment_ids: [experimentId], filter, max_results: PAGE, order_by: order ? [order] : [] };
    const runs = [];
    results.replaceChildren(loading("searching…"));
    const page = async (token) => {
      let data;
      try {
        data = await api("/api/v1/runs/search", { ...body, page_token: token });
      } catch (err) {
        if (mine !== generation) { return; }
        const title = err.code === "invalid_filter" ? "The filter is not valid"
          : err.code === "invalid_request" && order ? "The order is not valid" : "Could not search the runs";
        results.replaceChildren(errorBox(err, { title, source: err.code === "invalid_filter" ? filter : null,
                                                retry: search }));
        return;
      }
      if (mine !== generation) { return; }
      runs.push(...data.runs);
      const more = data.next_page_token ? el("button", { class: "more",
        onclick: (ev) => { ev.target.disabled = true; page(data.next_page_token); } }, "Load more") : null;
      put(results, renderTable(runs, more));
    };
    await page(null);
  }

  const update = (p) => {
    filterInput.value = p.get("filter") || "";
    orderInput.value = p.get("order") || "";
    search();
  };
  update(params);
  return { update };
}

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

function metricsTable(metrics) {
  const entries = Object.entries(metrics).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) { return el("p", { class: "muted" }, "none"); }
  return el("table", { id: "metrics" },
    el("thead", {}, el("tr", {}, ["key", "latest", "step", "min", "max", "count"].map((h) => el("th", {}, h)))),
    el("tbody", {}, entries.map(([k, m]) => el("tr", {}, el("th", {}, k),
      [m.value, m.step, m.min, m.max, m.count].map((v) => el("td", { class: "num" }, metricText(v)))))));
}

async function versionsFromRun(section, runId) {
  try {
    const filter = `run_id = '${runId.replace(/'/g, "")}'`;
    const data = await api(`/api/v1/model-versions?filter=${encodeURIComponent(filter)}`);
    if (!data.model_versions.length) { section.remove(); return; }
    section.replaceChildren(el("h3", {}, "Registered as"), el("ul", { class: "plain" },
      data.model_versions.map((v) => el("li", {},
        el("a", { href: `#/models/${encodeURIComponent(v.name)}` }, `${v.name} v${v.version}`), " ",
        stageBadge(v.current_stage), v.aliases.map((a) => el("span", { class: "alias" }, "@" + a))))));
  } catch (err) {
    section.replaceChildren(errorBox(err, { title: "Could not look up registered versions" }));
  }
}

// One run: info, params, tags, latest metrics, charts, artifacts, registered versions.
export async function runView(root, runId) {
  root.append(loading());
  let run;
  try {
    run = await api(`/api/v1/runs/${encodeURIComponent(runId)}`);
  } catch (err) {
    root.replaceChildren(errorBox(err, { title: `Could not load run ${runId}`, retry: () => {
      root.replaceChildren(); runView(root, runId);
    } }));
    return;
  }
  const info = run.info;
  const name = info.run_name || info.run_id;
  const charts = el("div", { class: "grid charts" });
  const registered = el("section", {});
  root.replaceChildren(el("h1", {}, name, " ", statusBadge(info.status)),
    el("div", { class: "grid" },
      el("section", {}, el("h3", {}, "Run"), infoTable(info)),
      el("section", { id: "params" }, el("h3", {}, "Params"), keyValueTable(run.data.params)),
      el("section", { id: "tags" }, el("h3", {}, "Tags"), keyValueTable(run.data.tags))),
    el("section", {}, el("h3", {}, "Metrics"), metricsTable(run.data.metrics)),
    el("section", {}, el("h3", {}, "Charts"), charts),
    artifactsSection(info.run_id),
    registered);
  const keys = Object.keys(run.data.metrics).sort();
  metricCharts(charts, [info.run_id], keys, { [info.run_id]: name });
  versionsFromRun(registered, info.run_id);
}

// Several runs side by side: params that differ first (highlighted), latest
// metrics, and one chart per metric with a line per run.
export async function compareView(root, params) {
  const ids = [...new Set((params.get("ids") || "").split(",").filter(Boolean))];
  root.append(el("h1", {}, `Compare ${ids.length} runs`));
  if (!ids.length) { root.append(el("p", { class: "muted" }, "Select runs in a runs table first.")); return; }
  const body = el("div", {}, loading());
  root.append(body);
  let data;
  try {
    data = await api("/api/v1/compare", { run_ids: ids });
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
  const charts = el("div", { class: "grid charts" });
  put(body,
    missing.length ? el("p", { class: "error" }, `Not found: ${missing.join(", ")}`) : null,
    el("label", { class: "toggle" }, onlyDiff, " show only rows that differ"),
    el("div", { class: "table-wrap" }, table),
    el("h3", {}, "Charts"), charts);
  metricCharts(charts, data.runs.map((r) => r.info.run_id), data.metric_keys, labels);
}
