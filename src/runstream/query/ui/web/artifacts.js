// A run's artifacts as a folder tree: folders open on click (one listing request
// each), files link to the streamed download.

import { api, downloadUrl, downloadWithToken, token } from "./api.js";
import { el, sizeText, when } from "./dom.js";
import { errorBox } from "./errors.js";

const PAGE = 1000;
const INLINE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp", "text/plain"]);

function basename(path) {
  return path.slice(path.lastIndexOf("/") + 1);
}

function fileItem(runId, file) {
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
  const view = !token() && INLINE_TYPES.has(file.media_type)
    ? el("a", { href: url + "&inline=true", target: "_blank", rel: "noopener", class: "view" }, "view") : null;
  return el("li", { class: "file", "data-path": file.path }, link,
    el("span", { class: "muted meta" }, [sizeText(file.size), file.media_type, when(file.logged_at)].filter(Boolean).join(" · ")),
    view);
}

function dirItem(runId, dir) {
  const toggle = el("button", { class: "dir", "aria-expanded": "false" }, basename(dir.path) + "/");
  const children = el("ul", { class: "tree", hidden: true });
  let loaded = false;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    children.hidden = !open;
    if (open && !loaded) { loaded = true; fill(children, runId, dir.path, null); }
  });
  return el("li", { class: "folder", "data-path": dir.path }, toggle, children);
}

async function fill(list, runId, path, pageToken) {
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
      retry: () => { list.replaceChildren(); fill(list, runId, path, pageToken); } })));
    return;
  }
  const items = data.files.map((f) => (f.is_dir ? dirItem(runId, f) : fileItem(runId, f)));
  if (!items.length && !path && !pageToken) { items.push(el("li", { class: "muted" }, "No artifacts.")); }
  if (data.next_page_token) {
    const more = el("button", { class: "more" }, "more…");
    more.addEventListener("click", () => { more.parentElement.remove(); fill(list, runId, path, data.next_page_token); });
    items.push(el("li", {}, more));
  }
  status.replaceWith(...items);
}

// The "Artifacts" section of a run page.
export function artifactsSection(runId) {
  const tree = el("ul", { class: "tree", id: "artifacts" });
  fill(tree, runId, null, null);
  return el("section", {}, el("h3", {}, "Artifacts"), tree);
}
