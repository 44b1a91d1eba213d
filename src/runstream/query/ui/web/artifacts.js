// A run's artifacts as a folder tree: folders open on click (one listing request
// each), files link to the streamed download, and a preview pane shows images,
// text, JSON, CSV (as a table) and model folders (their MLmodel). Previews never
// render what they show: text goes in as text, only raster images as images.

import { ApiError, api, downloadUrl, downloadWithToken, token } from "./api.js";
import { el, sizeText, when } from "./dom.js";
import { errorBox } from "./errors.js";

const PAGE = 1000;
const PREVIEW_MAX_BYTES = 5 * 1024 * 1024;
const TEXT_SHOWN = 200_000;  // characters of a text preview
const CSV_ROWS = 200;
const IMAGE_TYPES = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp" };
const TEXT_EXTENSIONS = new Set(["txt", "log", "md", "py", "yaml", "yml", "toml", "cfg", "ini", "sh", "html",
  "xml", "ipynb", "jsonl", "tsv"]);

function extension(path) {
  const name = basename(path);
  return name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
}

// How a file is previewed: "image" | "json" | "csv" | "text" | null (not at all).
export function previewKind(file) {
  const ext = extension(file.path);
  if (file.size !== null && file.size !== undefined && file.size > PREVIEW_MAX_BYTES) { return null; }
  if (IMAGE_TYPES[ext]) { return "image"; }
  if (ext === "json") { return "json"; }
  if (ext === "csv") { return "csv"; }
  if (TEXT_EXTENSIONS.has(ext) || basename(file.path) === "MLmodel" || (file.media_type || "").startsWith("text/")) {
    return "text";
  }
  return null;
}

// Split CSV text into rows of cells (quotes as RFC 4180), at most ``limit`` rows.
export function parseCsv(text, limit) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length && rows.length < limit; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i += 1; }
      else if (c === '"') { quoted = false; }
      else { cell += c; }
    } else if (c === '"') { quoted = true; }
    else if (c === ",") { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") { i += 1; }
      row.push(cell); rows.push(row); row = []; cell = "";
    } else { cell += c; }
  }
  if ((cell || row.length) && rows.length < limit) { row.push(cell); rows.push(row); }
  return rows;
}

async function fetchArtifact(runId, path) {
  const headers = token() ? { Authorization: "Bearer " + token() } : {};
  let resp;
  try {
    resp = await fetch(downloadUrl(runId, path), { headers });
  } catch (err) {
    throw new ApiError(`The query service did not answer (${err.message}).`, { path });
  }
  if (!resp.ok) {
    const data = await resp.json().catch(() => null);
    const e = (data && data.error) || {};
    throw new ApiError(e.message || `HTTP ${resp.status}`, { status: resp.status, code: e.code || null, path });
  }
  return resp;
}

let shownBlob = null;  // the object URL of the image on screen, released when replaced

async function showPreview(pane, runId, file, kind) {
  pane.replaceChildren(el("h4", {}, file.path), el("p", { class: "muted loading" }, "loading…"));
  pane.dataset.kind = kind;
  pane.dataset.path = file.path;
  let content;
  try {
    const resp = await fetchArtifact(runId, file.path);
    if (kind === "image") {
      const blob = new Blob([await resp.arrayBuffer()], { type: IMAGE_TYPES[extension(file.path)] });
      if (shownBlob) { URL.revokeObjectURL(shownBlob); }
      shownBlob = URL.createObjectURL(blob);
      content = el("img", { src: shownBlob, alt: file.path, class: "preview-image" });
    } else {
      const text = await resp.text();
      if (kind === "json") {
        let pretty;
        try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { pretty = text; }
        content = el("pre", { class: "preview-text" }, pretty.slice(0, TEXT_SHOWN));
      } else if (kind === "csv") {
        const [head, ...rows] = parseCsv(text, CSV_ROWS + 1);
        content = el("div", { class: "table-wrap" }, el("table", { class: "preview-csv" },
          el("thead", {}, el("tr", {}, (head || []).map((h) => el("th", {}, h)))),
          el("tbody", {}, rows.map((r) => el("tr", {}, r.map((v) => el("td", {}, v)))))),
          rows.length >= CSV_ROWS ? el("p", { class: "muted" }, `first ${CSV_ROWS} rows`) : null);
      } else {
        content = el("pre", { class: "preview-text" }, text.slice(0, TEXT_SHOWN),
          text.length > TEXT_SHOWN ? `\n… (${text.length - TEXT_SHOWN} more characters)` : "");
      }
    }
  } catch (err) {
    content = errorBox(err, { title: `Could not preview ${file.path}`, retry: () => showPreview(pane, runId, file, kind) });
  }
  pane.replaceChildren(el("h4", {}, file.path, " ", el("span", { class: "muted" }, sizeText(file.size))), content);
}

function basename(path) {
  return path.slice(path.lastIndexOf("/") + 1);
}

function fileItem(runId, file, pane) {
  const name = basename(file.path);
  const url = downloadUrl(runId, file.path);
  const link = el("a", { href: url, download: name, class: "download", title: `download ${file.path}` }, name);
  link.addEventListener("click", (ev) => {
    if (!token()) { return; }  // a plain link works without a token
    ev.preventDefault();
    downloadWithToken(url, name).catch((err) => {
      link.parentElement.append(errorBox(err, { title: `Could not download ${file.path}` }));
    });
  });
  const kind = previewKind(file);
  const view = kind ? el("button", { class: "link view", "aria-label": `preview ${file.path}` }, "preview") : null;
  if (view) { view.addEventListener("click", () => showPreview(pane, runId, file, kind)); }
  return el("li", { class: "file", "data-path": file.path }, link,
    el("span", { class: "muted meta" }, [sizeText(file.size), file.media_type, when(file.logged_at)].filter(Boolean).join(" · ")),
    view);
}

function dirItem(runId, dir, pane) {
  const toggle = el("button", { class: "dir", "aria-expanded": "false" }, basename(dir.path) + "/");
  const children = el("ul", { class: "tree", hidden: true });
  let loaded = false;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    children.hidden = !open;
    if (open && !loaded) { loaded = true; fill(children, runId, dir.path, null, pane); }
  });
  return el("li", { class: "folder", "data-path": dir.path }, toggle, children);
}

async function fill(list, runId, path, pageToken, pane) {
  const status = el("li", { class: "muted" }, "loading…");
  list.append(status);
  const q = new URLSearchParams({ max_results: String(PAGE) });
  if (path) { q.set("path", path); }
  if (pageToken) { q.set("page_token", pageToken); }
  let data;
  try {
    data = await api(`/api/v1/runs/${encodeURIComponent(runId)}/artifacts?${q}`);
  } catch (err) {
    status.replaceWith(el("li", {}, errorBox(err, { title: "Could not list the artifacts",
      retry: () => { list.replaceChildren(); fill(list, runId, path, pageToken, pane); } })));
    return;
  }
  const items = data.files.map((f) => (f.is_dir ? dirItem(runId, f, pane) : fileItem(runId, f, pane)));
  // A model folder (it holds an MLmodel): say so, and show its MLmodel.
  const mlmodel = data.files.find((f) => !f.is_dir && basename(f.path) === "MLmodel");
  if (mlmodel && path && !pageToken) {
    list.parentElement?.querySelector(":scope > button.dir")?.after(el("span", { class: "badge model-badge" }, "MLflow model"));
    showPreview(pane, runId, mlmodel, "text");
  }
  if (!items.length && !path && !pageToken) { items.push(el("li", { class: "muted" }, "No artifacts.")); }
  if (data.next_page_token) {
    const more = el("button", { class: "more" }, "more…");
    more.addEventListener("click", () => { more.parentElement.remove(); fill(list, runId, path, data.next_page_token, pane); });
    items.push(el("li", {}, more));
  }
  status.replaceWith(...items);
}

// The "Artifacts" section of a run page.
export function artifactsSection(runId) {
  const tree = el("ul", { class: "tree", id: "artifacts" });
  const pane = el("div", { class: "preview", id: "artifact-preview", "aria-live": "polite" },
    el("p", { class: "muted" }, "Choose “preview” beside a file to see it here."));
  fill(tree, runId, null, null, pane);
  return el("section", {}, el("h3", {}, "Artifacts"), el("div", { class: "artifacts" }, tree, pane));
}
