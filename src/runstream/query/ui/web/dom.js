// DOM and formatting helpers. Every value from the API reaches the page as text
// (createTextNode / setAttribute), never as HTML.

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on") && typeof v === "function") { node.addEventListener(k.slice(2), v); }
    else if (v !== null && v !== undefined && v !== false) { node.setAttribute(k, v === true ? "" : String(v)); }
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) { continue; }
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function loading(text) {
  return el("p", { class: "muted loading" }, text || "loading…");
}

export function when(ms) {
  return ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 19) : "";
}

export function duration(start, end) {
  if (!start || !end || end < start) { return ""; }
  const s = (end - start) / 1000;
  if (s < 60) { return `${Math.round(s * 10) / 10} s`; }
  if (s < 3600) { return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`; }
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export function metricText(v) {
  if (v === null || v === undefined) { return ""; }
  if (typeof v !== "number") { return String(v); }  // "NaN", "Infinity", "-Infinity"
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-4)) { return v.toExponential(4); }
  return String(Math.round(v * 1e6) / 1e6);
}

export function sizeText(n) {
  if (n === null || n === undefined) { return ""; }
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

// A two-column table of a string map, sorted by key.
export function keyValueTable(obj, cls) {
  const entries = Object.entries(obj || {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) { return el("p", { class: "muted" }, "none"); }
  return el("table", { class: cls || "kv" },
    el("tbody", {}, entries.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, v)))));
}

export function statusBadge(status) {
  return el("span", { class: `badge status-${String(status).toLowerCase()}` }, status);
}

export function stageBadge(stage) {
  return el("span", { class: `badge stage-${String(stage).toLowerCase()}` }, stage);
}

export function runHref(runId) {
  return `#/runs/${encodeURIComponent(runId)}`;
}

// Replace ``node``'s children, skipping the null / false placeholders of optional parts.
export function put(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}
