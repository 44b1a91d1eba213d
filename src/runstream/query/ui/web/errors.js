// How a failed request looks on the page: what was being done, what the service
// said, where a filter went wrong, and what the user can do next.

import { el } from "./dom.js";
import { saveToken, sessionMode, token } from "./api.js";

// The line of ``text`` holding ``position`` and a caret under that character.
function caretLines(text, position) {
  const start = text.lastIndexOf("\n", position - 1) + 1;
  const endAt = text.indexOf("\n", position);
  const line = text.slice(start, endAt < 0 ? text.length : endAt);
  return `${line}\n${" ".repeat(Math.max(0, position - start))}^`;
}

// Every part of the page was refused, not just this one: reload it all with the token.
export function tokenForm() {
  const input = el("input", { type: "password", placeholder: "API token", "aria-label": "API token" });
  const save = () => { saveToken(input.value.trim()); window.location.reload(); };
  input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { save(); } });
  return el("div", { class: "token-form" }, input, el("button", { onclick: save }, "Use token"));
}

// An alert box for ``err``.
//   title:  what failed, in the user's words ("Could not load the runs")
//   source: the text the user typed (a filter), to point at the error position
//   retry:  a function that tries again (adds a button)
//   compact: a narrow place (the side bar): the title and message only
export function errorBox(err, { title, source, retry, compact = false } = {}) {
  const status = err.status ? `HTTP ${err.status}${err.code ? " · " + err.code : ""}` : "no answer";
  const box = el("div", { class: "error", role: "alert" },
    el("div", { class: "error-head" }, el("strong", {}, title || "Request failed"),
      el("span", { class: "error-status" }, status)),
    el("div", { class: "error-message" }, String(err.message || err)));
  if (compact) {
    box.classList.add("compact");
    return box;
  }
  if (source && Number.isInteger(err.position)) {
    box.append(el("pre", { class: "error-caret" }, caretLines(source, err.position)));
  }
  if (err.status === 401 && sessionMode()) {
    box.append(el("div", {}, "Your session has ended; sign in again."));
  } else if (err.status === 401) {
    box.append(el("div", {}, token() ? "The saved API token was refused; enter another one."
                                      : "This Runstream needs an API token."), tokenForm());
  } else if (retry && (!err.status || err.status >= 500)) {
    box.append(el("button", { class: "retry", onclick: retry }, "Try again"));
  }
  return box;
}
