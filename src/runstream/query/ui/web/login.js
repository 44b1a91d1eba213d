// Signing in and out when the service has access control on (RUNSTREAM_AUTH=1):
// the sign-in form, the user menu in the header, and the way back to the form
// when a session stops counting (expired, revoked, its user deleted). With access
// control off none of this shows. The URL's hash is left as it was, so signing in
// opens the page that was asked for.

import { api, currentSession, saveToken, signIn, signOut, token, whenSessionEnds } from "./api.js";
import { el, when } from "./dom.js";
import { tokenForm } from "./errors.js";
import { closeAll } from "./live.js";

let draw = () => {};  // draws the page the URL names (app.js)
let formShown = false;

// Whether the sign-in form is on screen (the router then draws nothing).
export function signingIn() {
  return formShown;
}

function failureText(err) {
  if (err.status === 401) { return "Wrong username or password."; }
  if (err.status === 429) { return err.message.charAt(0).toUpperCase() + err.message.slice(1) + "."; }
  if (!err.status) { return err.message; }
  return `Could not sign in (HTTP ${err.status}): ${err.message}`;
}

function hideSignIn() {
  formShown = false;
  document.body.classList.remove("signed-out");
  const box = document.getElementById("signin");
  box.hidden = true;
  box.replaceChildren();
}

// The form, instead of the page; ``note`` says why (signed out, session ended).
function showSignIn(note) {
  closeAll();
  document.getElementById("user").replaceChildren();
  if (formShown) { return; }
  formShown = true;
  document.body.classList.add("signed-out");
  // Nothing the last user could read stays in the page, hidden or not.
  document.getElementById("main").replaceChildren();
  document.getElementById("experiments").replaceChildren();

  const username = el("input", { id: "signin-username", name: "username", autocomplete: "username", required: true });
  const password = el("input", { id: "signin-password", name: "password", type: "password",
    autocomplete: "current-password", required: true });
  const failure = el("div", { class: "error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", class: "primary" }, "Sign in");
  const form = el("form", { class: "signin-form", "aria-labelledby": "signin-title" },
    el("h1", { id: "signin-title" }, "Sign in to Runstream"),
    el("p", { class: "muted", role: "status" }, note || "This Runstream server asks who you are."),
    el("label", { for: "signin-username" }, "Username"), username,
    el("label", { for: "signin-password" }, "Password"), password,
    failure, submit,
    el("details", { class: "signin-token" }, el("summary", {}, "Use a service token instead"), tokenForm()));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    submit.textContent = "Signing in…";
    failure.hidden = true;
    try {
      const user = await signIn(username.value.trim(), password.value);
      saveToken(null);  // a saved token would be sent instead of the new session
      hideSignIn();
      showUser(user);
      draw();
    } catch (err) {
      failure.textContent = failureText(err);
      failure.hidden = false;
      password.value = "";
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "Sign in";
    }
  });
  const box = document.getElementById("signin");
  box.replaceChildren(form);
  box.hidden = false;
  username.focus();
}

async function signOutNow(menu) {
  try {
    await signOut();
  } catch (err) {
    // The cookie is HttpOnly: only the service's answer clears it, so stay signed in.
    menu.append(el("div", { class: "error compact", role: "alert" }, `Could not sign out: ${err.message}`));
    return;
  }
  saveToken(null);
  showSignIn("You have signed out.");
}

// Who is signed in, in the header: a button that opens their details and "Sign out".
function showUser(user) {
  const menu = el("div", { id: "user-menu", class: "user-menu", hidden: true },
    el("div", {}, "Signed in as ", el("strong", {}, user.username),
      user.is_admin ? el("span", { class: "badge" }, "admin") : null),
    user.groups && user.groups.length ? el("div", { class: "muted" }, `groups: ${user.groups.join(", ")}`) : null,
    user.expires_at ? el("div", { class: "muted" }, `session until ${when(user.expires_at)} UTC`) : null);
  menu.append(el("button", { onclick: () => signOutNow(menu) }, "Sign out"));
  const toggle = el("button", { class: "user-toggle", "aria-haspopup": "true", "aria-expanded": "false",
    "aria-controls": "user-menu", title: `signed in as ${user.username}` }, user.username);
  toggle.addEventListener("click", (ev) => { ev.stopPropagation(); openMenu(menu.hidden); });
  menu.addEventListener("click", (ev) => ev.stopPropagation());
  document.addEventListener("click", closeMenu);  // the same function: added once
  document.getElementById("user").replaceChildren(toggle, menu);
}

function openMenu(yes) {
  const menu = document.getElementById("user-menu");
  if (!menu) { return; }
  menu.hidden = !yes;
  document.querySelector(".user-toggle").setAttribute("aria-expanded", String(yes));
}

function closeMenu() {
  openMenu(false);
}

// Ask the service once whether it signs users in, then draw the page or the form.
// ``drawPage`` draws the page of the URL; it runs again after each sign-in.
export async function beginSession(drawPage) {
  draw = drawPage;
  let state;
  try {
    state = await currentSession();
  } catch {
    state = { auth: false, user: null };  // no answer: each view says so where it asks
  }
  if (!state.auth) { draw(); return; }
  let user = state.user;
  if (user) {
    saveToken(null);  // the session counts, not a token saved before it
  } else if (token()) {  // a service token saved from the form's token field
    try {
      user = await api("/api/v1/auth/whoami");
    } catch {
      saveToken(null);
    }
  }
  whenSessionEnds(() => showSignIn("Your session has ended; sign in again."));
  if (user) {
    showUser(user);
    draw();
  } else {
    showSignIn();
  }
}
