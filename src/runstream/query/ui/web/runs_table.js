// An experiment's runs table, made for 100,000 runs: rows are virtualized (only the
// rows on screen are in the page), pages of 1,000 load as the table is scrolled,
// the sort is the server's (click a header), columns are chosen from the params,
// metrics and tags seen (kept in the URL), runs can be grouped by a param or tag
// with an aggregate row per group, and ticked for the compare page. Running runs on
// screen follow the live tail. URL: #/experiments/<id>?filter=&order=&cols=&group=

import { api } from "./api.js";
import { duration, el, metricText, runHref, statusBadge, when } from "./dom.js";
import { errorBox } from "./errors.js";
import { follow } from "./live.js";

const PAGE = 1000;
const ROW_HEIGHT = 29;     // px; every row the same height, so a scroll position is a row index
const OVERSCAN = 10;       // rows drawn above and below the visible ones
const DEFAULT_COLUMNS = 5; // params and metrics shown before the user chooses
const LIVE_MAX = 100;      // running runs followed at once (the live endpoint's limit)

// ``metrics.my key`` -> ``metrics.`my key``` when the key needs quoting in a filter / order.
export function columnRef(col) {
  const dot = col.indexOf(".");
  const kind = col.slice(0, dot), key = col.slice(dot + 1);
  return /^[A-Za-z_][A-Za-z0-9_.]*$/.test(key) ? `${kind}.${key}` : `${kind}.\`${key.replace(/`/g, "")}\``;
}

function cellValue(run, col) {
  const dot = col.indexOf(".");
  const kind = col.slice(0, dot), key = col.slice(dot + 1);
  if (kind === "metrics") { return run.data.metrics[key] ? run.data.metrics[key].value : null; }
  return run.data[kind][key] ?? null;
}

function groupRows(runs, groupBy, columns) {
  if (!groupBy) { return runs.map((run) => ({ run })); }
  const groups = new Map();
  for (const run of runs) {
    const v = cellValue(run, groupBy);
    const k = v === null ? "(none)" : String(v);
    if (!groups.has(k)) { groups.set(k, []); }
    groups.get(k).push(run);
  }
  const out = [];
  for (const [value, members] of groups) {
    const agg = {};
    for (const col of columns.filter((c) => c.startsWith("metrics."))) {
      const vs = members.map((r) => cellValue(r, col)).filter((v) => typeof v === "number");
      agg[col] = vs.length ? { mean: vs.reduce((a, b) => a + b, 0) / vs.length, min: Math.min(...vs), max: Math.max(...vs) } : null;
    }
    out.push({ group: value, count: members.length, agg });
    out.push(...members.map((run) => ({ run, member: value })));
  }
  return out;
}

export function experimentView(root, experimentId, params) {
  const title = el("h1", {}, "Runs");
  const subtitle = el("p", { class: "muted" }, `experiment ${experimentId}`);
  const filterInput = el("input", { type: "search", id: "run-filter", "aria-label": "filter runs",
    placeholder: "metrics.acc > 0.9 AND params.lr = '0.1'", spellcheck: "false", autocomplete: "off" });
  const orderInput = el("input", { type: "search", id: "run-order", "aria-label": "order runs by",
    placeholder: "order by, e.g. metrics.acc DESC", spellcheck: "false", autocomplete: "off" });
  const selected = new Map();
  const compareButton = el("button", { id: "compare", disabled: true }, "Compare");
  const chooser = el("details", { class: "columns-chooser" }, el("summary", {}, "Columns"));
  const groupSelect = el("select", { "aria-label": "group by" });
  const results = el("div", { class: "results" });
  const state = { runs: [], next: null, columns: null, groupBy: null, loading: false, generation: 0 };
  let stopLive = null;

  const syncCompare = () => {
    compareButton.disabled = selected.size < 2;
    compareButton.textContent = selected.size ? `Compare ${selected.size} runs` : "Compare";
  };
  compareButton.addEventListener("click", () => {
    if (selected.size >= 2) { location.hash = `#/compare?ids=${[...selected.keys()].join(",")}`; }
  });
  const hashWith = (changes) => {
    const q = new URLSearchParams(location.hash.split("?")[1] || "");
    for (const [k, v] of Object.entries(changes)) { if (v) { q.set(k, v); } else { q.delete(k); } }
    const query = q.toString();
    return `#/experiments/${encodeURIComponent(experimentId)}${query ? "?" + query : ""}`;
  };
  const submit = () => {
    const hash = hashWith({ filter: filterInput.value.trim(), order: orderInput.value.trim() });
    if (location.hash === hash) { search(); } else { location.hash = hash; }
  };
  for (const input of [filterInput, orderInput]) {
    input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { submit(); } });
  }
  groupSelect.addEventListener("change", () => {
    history.replaceState(null, "", hashWith({ group: groupSelect.value }));
    state.groupBy = groupSelect.value || null;
    draw();
  });
  root.append(title, subtitle,
    el("div", { class: "toolbar" }, filterInput, orderInput,
      el("button", { class: "primary", onclick: submit }, "Search"), compareButton),
    el("div", { class: "toolbar table-tools" }, chooser, el("label", {}, "group by ", groupSelect)),
    results);

  api(`/api/v1/experiments/${encodeURIComponent(experimentId)}`).then((exp) => {
    title.textContent = exp.name;
    subtitle.textContent = `experiment ${exp.experiment_id}` +
      (exp.lifecycle_stage !== "active" ? ` · ${exp.lifecycle_stage}` : "") +
      (exp.artifact_location ? ` · ${exp.artifact_location}` : "");
  }).catch((err) => { subtitle.replaceWith(errorBox(err, { title: "Could not load the experiment" })); });

  // The scrolling body: a table whose rows are the visible slice between two spacers.
  const scroller = el("div", { class: "table-scroll", tabindex: "0", "aria-label": "runs" });
  const table = el("table", { id: "runs" });
  const count = el("p", { class: "muted", id: "run-count" });
  scroller.append(table);
  scroller.addEventListener("scroll", () => { draw(); maybeMore(); });

  function knownColumns() {
    const seen = { params: new Set(), metrics: new Set(), tags: new Set() };
    for (const r of state.runs.slice(0, 5000)) {
      for (const kind of Object.keys(seen)) { for (const k of Object.keys(r.data[kind])) { seen[kind].add(k); } }
    }
    return Object.fromEntries(Object.entries(seen).map(([k, s]) => [k, [...s].sort()]));
  }

  function chosenColumns() {
    if (state.columns) { return state.columns; }
    const known = knownColumns();
    return [...known.params.slice(0, DEFAULT_COLUMNS).map((k) => `params.${k}`),
            ...known.metrics.slice(0, DEFAULT_COLUMNS).map((k) => `metrics.${k}`)];
  }

  function fillChooser() {
    const known = knownColumns();
    const chosen = new Set(chosenColumns());
    const boxes = Object.entries(known).map(([kind, keys]) => el("fieldset", {}, el("legend", {}, kind),
      keys.length ? keys.map((k) => {
        const col = `${kind}.${k}`;
        const box = el("input", { type: "checkbox", checked: chosen.has(col), "aria-label": `column ${col}` });
        box.addEventListener("change", () => {
          const now = chosenColumns().filter((c) => c !== col);
          if (box.checked) { now.push(col); }
          state.columns = now;
          history.replaceState(null, "", hashWith({ cols: now.join(",") }));
          draw();
        });
        return el("label", {}, box, " ", k);
      }) : el("span", { class: "muted" }, "none")));
    chooser.replaceChildren(el("summary", {}, "Columns"), el("div", { class: "chooser-body" }, boxes));
    const groupable = [...known.params.map((k) => `params.${k}`), ...known.tags.map((k) => `tags.${k}`)];
    groupSelect.replaceChildren(el("option", { value: "" }, "nothing"),
      ...groupable.map((c) => el("option", { value: c, selected: c === state.groupBy }, c)));
  }

  function header(columns) {
    const order = orderInput.value.trim();
    const th = (label, col) => {
      if (!col) { return el("th", {}, label); }
      const ref = columnRef(col);
      const dir = order === `${ref} DESC` ? "descending" : order === `${ref} ASC` || order === ref ? "ascending" : "none";
      const button = el("button", { class: "sort", title: `sort by ${ref}` }, label, dir === "none" ? "" : dir === "descending" ? " ▼" : " ▲");
      button.addEventListener("click", () => {
        orderInput.value = dir === "descending" ? `${ref} ASC` : `${ref} DESC`;
        submit();
      });
      return el("th", { "aria-sort": dir, class: col.split(".")[0].replace(/s$/, "") }, button);
    };
    return el("thead", {}, el("tr", {}, el("th", {}, ""), th("run", "attributes.run_name"),
      th("status", "attributes.status"), th("start (UTC)", "attributes.start_time"), el("th", {}, "duration"),
      el("th", {}, "user"), columns.map((c) => th(c, c))));
  }

  function runRow(run, columns, member) {
    const id = run.info.run_id, name = run.info.run_name || id;
    const box = el("input", { type: "checkbox", "aria-label": `select ${name}`, checked: selected.has(id) });
    box.addEventListener("change", () => {
      if (box.checked) { selected.set(id, name); } else { selected.delete(id); }
      syncCompare();
    });
    return el("tr", { class: member !== undefined ? "run member" : "run", "data-run-id": id }, el("td", {}, box),
      el("td", {}, el("a", { href: runHref(id) }, name)),
      el("td", {}, statusBadge(run.info.status)), el("td", {}, when(run.info.start_time)),
      el("td", { class: "num" }, duration(run.info.start_time, run.info.end_time)), el("td", {}, run.info.user_id || ""),
      columns.map((c) => el("td", { class: c.startsWith("metrics.") ? "num" : null, "data-col": c },
        c.startsWith("metrics.") ? metricText(cellValue(run, c)) : cellValue(run, c) ?? "")));
  }

  function groupRow(row, columns) {
    return el("tr", { class: "group" }, el("td", {}, ""),
      el("td", { colspan: "5" }, el("b", {}, `${state.groupBy} = ${row.group}`), ` · ${row.count} run${row.count === 1 ? "" : "s"}`),
      columns.map((c) => {
        if (!c.startsWith("metrics.")) { return el("td", {}, ""); }
        const a = row.agg[c];
        return el("td", { class: "num", title: a ? `min ${metricText(a.min)} · max ${metricText(a.max)}` : null },
          a ? `μ ${metricText(a.mean)}` : "");
      }));
  }

  let rows = [];
  let rowsFor = "";  // what ``rows`` were built from: regrouped only when that changes
  function draw() {
    const columns = chosenColumns();
    const signature = `${state.generation}|${state.runs.length}|${state.groupBy}|${columns.join(",")}`;
    if (signature !== rowsFor) { rows = groupRows(state.runs, state.groupBy, columns); rowsFor = signature; }
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const visible = Math.ceil((scroller.clientHeight || 600) / ROW_HEIGHT) + 2 * OVERSCAN;
    const last = Math.min(rows.length, first + visible);
    const spacer = (n) => (n > 0 ? el("tr", { class: "spacer", "aria-hidden": "true" },
      el("td", { colspan: String(6 + columns.length), style: `height:${n * ROW_HEIGHT}px` })) : null);
    const slice = rows.slice(first, last).map((r) => (r.run ? runRow(r.run, columns, r.member) : groupRow(r, columns)));
    table.replaceChildren(header(columns), el("tbody", {}, spacer(first), slice, spacer(rows.length - last)));
    table.dataset.rows = String(rows.length);
    count.textContent = `${state.runs.length.toLocaleString("en")} run${state.runs.length === 1 ? "" : "s"}` +
      (state.next ? " loaded; more match (scroll to load)" : "");
    followRunning(slice.map((tr) => tr.dataset.runId).filter(Boolean));
  }

  // Running runs on screen: one live stream for all of them, metric cells updated.
  let followed = "";
  function followRunning(ids) {
    const running = ids.filter((id) => state.byId.get(id)?.info.status === "RUNNING").slice(0, LIVE_MAX);
    const key = running.join(",");
    if (key === followed) { return; }
    followed = key;
    if (stopLive) { stopLive(); stopLive = null; }
    if (!running.length) { return; }
    stopLive = follow(running, {
      onMetrics: (frame) => {
        const run = state.byId.get(frame.run_id);
        if (!run) { return; }
        frame.keys.forEach((k, i) => {
          const m = run.data.metrics[k] || (run.data.metrics[k] = { value: null, step: -Infinity, timestamp: 0 });
          if (frame.steps[i] > m.step || (frame.steps[i] === m.step && frame.timestamps[i] >= m.timestamp)) {
            m.value = frame.values[i]; m.step = frame.steps[i]; m.timestamp = frame.timestamps[i];
            const cell = table.querySelector(`tr[data-run-id="${frame.run_id}"] td[data-col="${CSS.escape("metrics." + k)}"]`);
            if (cell) { cell.textContent = metricText(m.value); }
          }
        });
      },
      onStatus: (s) => {
        const run = state.byId.get(s.run_id);
        if (run) { run.info.status = s.status; run.info.end_time = s.end_time; draw(); }
      },
    });
  }

  async function loadPage(mine) {
    const filter = filterInput.value.trim(), order = orderInput.value.trim();
    state.loading = true;
    let data;
    try {
      data = await api("/api/v1/runs/search", { experiment_ids: [experimentId], filter, max_results: PAGE,
        order_by: order ? [order] : [], page_token: state.next });
    } catch (err) {
      if (mine !== state.generation) { return; }
      const title = err.code === "invalid_filter" ? "The filter is not valid"
        : err.code === "invalid_request" && order ? "The order is not valid" : "Could not search the runs";
      results.replaceChildren(errorBox(err, { title, source: err.code === "invalid_filter" ? filter : null, retry: search }));
      return;
    } finally {
      state.loading = false;
    }
    if (mine !== state.generation) { return; }
    state.runs.push(...data.runs);
    for (const r of data.runs) { state.byId.set(r.info.run_id, r); }
    state.next = data.next_page_token || null;
    if (!state.runs.length) { results.replaceChildren(el("p", { class: "muted empty" }, "No runs match.")); return; }
    if (!results.contains(scroller)) { results.replaceChildren(scroller, count); }
    fillChooser();
    draw();
  }

  function maybeMore() {
    if (!state.next || state.loading) { return; }
    if (scroller.scrollTop + scroller.clientHeight > rows.length * ROW_HEIGHT - 20 * ROW_HEIGHT) {
      loadPage(state.generation);
    }
  }

  function search() {
    state.generation += 1;
    Object.assign(state, { runs: [], next: null, byId: new Map() });
    scroller.scrollTop = 0;
    results.replaceChildren(el("p", { class: "muted loading" }, "searching…"));
    return loadPage(state.generation);
  }

  const update = (p) => {
    filterInput.value = p.get("filter") || "";
    orderInput.value = p.get("order") || "";
    state.columns = p.get("cols") ? p.get("cols").split(",").filter(Boolean) : null;
    state.groupBy = p.get("group") || null;
    search();
  };
  update(params);
  return { update };
}
