// Read-only SQL over the lake's tables, with the service's row and time limits.

import { api } from "./api.js";
import { el, loading } from "./dom.js";
import { errorBox } from "./errors.js";

function cell(v) {
  if (v === null || v === undefined) { return ""; }
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export function sqlView(root) {
  const area = el("textarea", { id: "sql", spellcheck: "false", "aria-label": "SQL statement" },
    "SELECT run_name, status, start_time FROM runs ORDER BY start_time DESC LIMIT 20");
  const out = el("div", {});
  const run = async () => {
    out.replaceChildren(loading("running…"));
    try {
      const r = await api("/api/v1/sql", { sql: area.value });
      out.replaceChildren(el("p", { class: "muted" }, `${r.row_count} rows, ${r.elapsed_ms} ms${r.truncated ? " (truncated)" : ""}`),
        el("div", { class: "table-wrap" }, el("table", {}, el("thead", {}, el("tr", {}, r.columns.map((c) => el("th", {}, c)))),
          el("tbody", {}, r.rows.map((row) => el("tr", {}, row.map((v) => el("td", {}, cell(v)))))))));
    } catch (err) {
      out.replaceChildren(errorBox(err, { title: "The statement failed", source: area.value, retry: run }));
    }
  };
  area.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { run(); } });
  root.append(el("h1", {}, "SQL (read-only)"), area,
    el("div", { class: "toolbar" }, el("button", { class: "primary", onclick: run }, "Run"),
      el("span", { class: "muted" }, "Ctrl+Enter runs the statement")), out);
}
