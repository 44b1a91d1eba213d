// Runstream's web UI: the router, the experiments side bar, the home page and the
// footer (lake snapshot and freshness). Routes live in the URL hash:
//   #/                          experiments
//   #/experiments/<id>?filter=&order=&cols=&group=  runs of one experiment
//   #/runs/<id>                 one run
//   #/compare?ids=a,b           runs side by side
//   #/models, #/models/<name>   model registry
//   #/sql                       read-only SQL
// With access control on, the sign-in form (login.js) comes first.

import "./style.css";
import { api, readiness } from "./api.js";
import { el, loading, when } from "./dom.js";
import { errorBox } from "./errors.js";
import { closeAll } from "./live.js";
import { beginSession, signingIn } from "./login.js";
import { modelView, modelsView } from "./registry.js";
import { compareView, runView } from "./runs.js";
import { experimentView } from "./runs_table.js";
import { sqlView } from "./sql.js";

const FRESHNESS_EVERY_MS = 15_000;

function ageText(seconds) {
  if (seconds === null || seconds === undefined) { return "unknown"; }
  if (seconds < 90) { return `${Math.round(seconds)} s ago`; }
  if (seconds < 5400) { return `${Math.round(seconds / 60)} min ago`; }
  return `${Math.round(seconds / 3600)} h ago`;
}

let activeExperiment = null;  // the experiment whose runs are on screen, if any

function markActive() {
  for (const a of document.querySelectorAll("#experiments a")) {
    a.classList.toggle("active", a.dataset.experimentId === activeExperiment);
  }
}

// The side bar; reloaded on each new page so new experiments show up.
async function loadExperiments() {
  const list = document.getElementById("experiments");
  try {
    const data = await api("/api/v1/experiments?max_results=1000");
    list.replaceChildren(...data.experiments.map((e) => el("li", {},
      el("a", { href: `#/experiments/${encodeURIComponent(e.experiment_id)}`, "data-experiment-id": e.experiment_id },
        e.name))));
    markActive();
  } catch (err) {
    list.replaceChildren(el("li", {}, errorBox(err, { title: "Could not load the experiments", compact: true })));
  }
}

async function homeView(root) {
  root.append(el("h1", {}, "Experiments"), loading());
  let data;
  try {
    data = await api("/api/v1/experiments?max_results=1000");
  } catch (err) {
    root.replaceChildren(el("h1", {}, "Experiments"), errorBox(err, { title: "Could not load the experiments",
      retry: () => { root.replaceChildren(); homeView(root); } }));
    return;
  }
  root.replaceChildren(el("h1", {}, "Experiments"), data.experiments.length
    ? el("div", { class: "table-wrap" }, el("table", { id: "experiment-table" },
      el("thead", {}, el("tr", {}, ["name", "id", "created (UTC)", "updated (UTC)", "tags"].map((h) => el("th", {}, h)))),
      el("tbody", {}, data.experiments.map((e) => el("tr", {},
        el("td", {}, el("a", { href: `#/experiments/${encodeURIComponent(e.experiment_id)}` }, e.name)),
        el("td", {}, el("code", {}, e.experiment_id)), el("td", {}, when(e.creation_time)),
        el("td", {}, when(e.last_update_time)),
        el("td", {}, Object.entries(e.tags).sort().map(([k, v]) => el("span", { class: "tag" }, `${k}=${v}`))))))))
    : el("p", { class: "muted" }, "No experiments yet: log a run with the SDK and it appears here."));
}

async function refreshFreshness() {
  const node = document.getElementById("freshness");
  try {
    const r = await readiness();
    if (!r.ready) {
      node.replaceChildren(el("span", { class: "bad" }, `lake not reachable: ${r.error || "not ready"}`));
      return;
    }
    const snap = document.getElementById("snapshot");
    if (!snap.dataset.snapshot) { snap.textContent = String(r.snapshot_id); snap.dataset.snapshot = String(r.snapshot_id); }
    const lag = r.materializer_lag === null ? "materializer lag unknown" : `materializer lag ${r.materializer_lag} events`;
    node.textContent = `newest snapshot ${r.snapshot_id}, committed ${ageText(r.snapshot_age_s)} · ${lag}`;
  } catch (err) {
    node.replaceChildren(el("span", { class: "bad" }, err.message));
  }
}

let current = null;  // {path, update} of the view on screen

function route(redraw = false) {
  if (signingIn()) { return; }  // the sign-in form is on screen; it draws the page after
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  activeExperiment = parts[0] === "experiments" ? parts[1] : null;
  markActive();
  for (const a of document.querySelectorAll("header nav a[data-section]")) {
    a.classList.toggle("active", a.dataset.section === (parts[0] || "experiments"));
  }
  if (!redraw && current && current.path === path && current.update) { current.update(params); return; }
  // A fresh container per view: a slow answer for a page already left lands in a
  // detached node instead of over the new page.
  closeAll();  // live streams of the page being left
  loadExperiments();
  const root = el("div", { class: "view" });
  document.getElementById("main").replaceChildren(root);
  let view = null;
  if (parts[0] === "experiments" && parts[1]) { view = experimentView(root, parts[1], params); }
  else if (parts[0] === "runs" && parts[1]) { view = runView(root, parts[1], params); }
  else if (parts[0] === "compare") { compareView(root, params); }
  else if (parts[0] === "models" && parts[1]) { modelView(root, parts[1]); }
  else if (parts[0] === "models") { modelsView(root); }
  else if (parts[0] === "sql") { sqlView(root, params); }
  else { homeView(root); }
  current = { path, update: view && view.update };
  document.title = "Runstream" + (parts[0] ? ` · ${parts[0]}` : "");
}

// Dark or light: the saved choice, else the system's.
const THEME_KEY = "runstream.theme";
function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  document.getElementById("theme").title = `${theme} mode (click to switch)`;
}
applyTheme(localStorage.getItem(THEME_KEY)
  || (window.matchMedia && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
document.getElementById("theme").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem(THEME_KEY, next);
  applyTheme(next);
  route(true);  // charts take their colours when drawn
});

window.addEventListener("hashchange", () => route());
beginSession(() => route(true));
refreshFreshness();
setInterval(refreshFreshness, FRESHNESS_EVERY_MS);
