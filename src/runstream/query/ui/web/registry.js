// The model registry: every registered model, and one model's versions with
// their stage, aliases and stage history.

import { api } from "./api.js";
import { el, keyValueTable, loading, put, runHref, stageBadge, when } from "./dom.js";
import { errorBox } from "./errors.js";

const PAGE = 100;

function modelHref(name) {
  return `#/models/${encodeURIComponent(name)}`;
}

function aliasChips(aliases) {
  return aliases.map((a) => el("span", { class: "alias" }, "@" + a));
}

// All registered models: latest version per stage, aliases, tags.
export async function modelsView(root) {
  root.append(el("h1", {}, "Registered models"));
  const body = el("div", {}, loading());
  root.append(body);
  const models = [];
  const page = async (pageToken) => {
    let data;
    try {
      const q = new URLSearchParams({ max_results: String(PAGE) });
      if (pageToken) { q.set("page_token", pageToken); }
      data = await api(`/api/v1/registered-models?${q}`);
    } catch (err) {
      body.replaceChildren(errorBox(err, { title: "Could not load the registered models",
        retry: () => { body.replaceChildren(loading()); page(pageToken); } }));
      return;
    }
    models.push(...data.registered_models);
    if (!models.length) { body.replaceChildren(el("p", { class: "muted" }, "No registered models yet.")); return; }
    const rows = models.map((m) => el("tr", { "data-model": m.name },
      el("td", {}, el("a", { href: modelHref(m.name) }, m.name)),
      el("td", {}, m.latest_versions.map((v) => el("span", { class: "version" }, `v${v.version} `, stageBadge(v.current_stage)))),
      el("td", {}, Object.entries(m.aliases).sort().map(([a, v]) => el("span", { class: "alias" }, `@${a} → v${v}`))),
      el("td", {}, m.description || ""),
      el("td", {}, Object.entries(m.tags).sort().map(([k, v]) => el("span", { class: "tag" }, `${k}=${v}`))),
      el("td", {}, when(m.last_updated_time))));
    const more = data.next_page_token ? el("button", { class: "more",
      onclick: (ev) => { ev.target.disabled = true; page(data.next_page_token); } }, "Load more") : null;
    put(body, el("div", { class: "table-wrap" }, el("table", { id: "models" },
      el("thead", {}, el("tr", {}, ["model", "latest versions", "aliases", "description", "tags", "updated (UTC)"]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, rows))), more);
  };
  await page(null);
}

function historyRow(name, version, columns) {
  const cell = el("td", { colspan: String(columns) }, loading());
  api(`/api/v1/registered-models/${encodeURIComponent(name)}/versions/${version}/stage-history`).then((h) => {
    cell.replaceChildren(h.transitions.length ? el("ol", { class: "history" }, h.transitions.map((t) =>
      el("li", {}, when(t.timestamp), " ", stageBadge(t.from_stage || "None"), " → ", stageBadge(t.to_stage),
        t.reason ? el("span", { class: "muted" }, ` (${t.reason.replaceAll("_", " ")})`) : null)))
      : el("span", { class: "muted" }, "No stage changes."));
  }).catch((err) => cell.replaceChildren(errorBox(err, { title: "Could not load the stage history" })));
  return el("tr", { class: "history-row" }, cell);
}

function versionsTable(name, versions) {
  const headers = ["version", "stage", "aliases", "status", "run", "source", "created (UTC)", "description", "tags", ""];
  const rows = versions.map((v) => {
    const toggle = el("button", { class: "link", "aria-expanded": "false" }, "stage history");
    const row = el("tr", { "data-version": String(v.version) },
      el("td", { class: "num" }, `v${v.version}`),
      el("td", {}, stageBadge(v.current_stage)),
      el("td", {}, aliasChips(v.aliases)),
      el("td", {}, v.status),
      el("td", {}, v.run_id ? el("a", { href: runHref(v.run_id) }, el("code", {}, v.run_id)) : ""),
      el("td", {}, el("code", {}, v.source || "")),
      el("td", {}, when(v.creation_time)),
      el("td", {}, v.description || ""),
      el("td", {}, Object.entries(v.tags).sort().map(([k, val]) => el("span", { class: "tag" }, `${k}=${val}`))),
      el("td", {}, toggle));
    let history = null;
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      if (open) { history = historyRow(name, v.version, headers.length); row.after(history); }
      else if (history) { history.remove(); history = null; }
    });
    return row;
  });
  return el("div", { class: "table-wrap" }, el("table", { id: "versions" },
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
}

// One registered model: description, tags, aliases and every live version.
export async function modelView(root, name) {
  root.append(el("p", {}, el("a", { href: "#/models" }, "← Registered models")), el("h1", {}, name));
  const body = el("div", {}, loading());
  root.append(body);
  let model, versions;
  try {
    const base = `/api/v1/registered-models/${encodeURIComponent(name)}`;
    [model, versions] = await Promise.all([api(base), api(`${base}/versions?max_results=10000`)]);
  } catch (err) {
    body.replaceChildren(errorBox(err, { title: `Could not load model ${name}`,
      retry: () => { root.replaceChildren(); modelView(root, name); } }));
    return;
  }
  const aliases = Object.entries(model.aliases).sort();
  put(body,
    model.description ? el("p", {}, model.description) : null,
    el("div", { class: "grid" },
      el("section", {}, el("h3", {}, "Aliases"), aliases.length ? el("table", { class: "kv", id: "aliases" },
        el("tbody", {}, aliases.map(([a, v]) => el("tr", {}, el("th", {}, "@" + a), el("td", {}, `v${v}`)))))
        : el("p", { class: "muted" }, "none")),
      el("section", {}, el("h3", {}, "Tags"), keyValueTable(model.tags))),
    el("h3", {}, `Versions (${versions.model_versions.length})`),
    versions.model_versions.length ? versionsTable(name, versions.model_versions) : el("p", { class: "muted" }, "No versions."),
    versions.next_page_token ? el("p", { class: "muted" }, "More versions exist than are shown.") : null);
}
