// The one way the page talks to the query service: JSON over /api/v1, the
// session (an HttpOnly cookie the browser sends by itself; the page never sees
// it), the API token (kept in local storage when the service asks for one), the
// snapshot footer, and artifact downloads.

const TOKEN_KEY = "runstream.token";
const SNAPSHOT_HEADER = "X-Runstream-Snapshot";
// Every request says it comes from this page; the server takes the session cookie
// on a POST or DELETE only with this header, which another site cannot send.
const CSRF = { "X-Runstream-CSRF": "1" };
const SESSION_PATH = "/api/v1/auth/session";

let sessionEnded = null;  // what to do when a signed-in session stops counting (login.js)

// A failed request: what the service said (or that it did not answer).
export class ApiError extends Error {
  constructor(message, { status = 0, code = null, position = null, expected = null, path = "" } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.position = position;
    this.expected = expected;
    this.path = path;
  }
}

export function token() {
  return localStorage.getItem(TOKEN_KEY);
}

export function saveToken(value) {
  if (value) { localStorage.setItem(TOKEN_KEY, value); } else { localStorage.removeItem(TOKEN_KEY); }
}

function authHeaders() {
  const t = token();
  return t ? { ...CSRF, Authorization: "Bearer " + t } : { ...CSRF };
}

// Call ``handler(err)`` whenever the service answers 401: the session expired, was
// revoked or its user deleted. Set once the page knows the service signs users in.
export function whenSessionEnds(handler) {
  sessionEnded = handler;
}

export function sessionMode() {
  return sessionEnded !== null;
}

function noteSnapshot(resp) {
  const snap = resp.headers.get(SNAPSHOT_HEADER);
  if (snap) {
    const node = document.getElementById("snapshot");
    node.textContent = snap;
    node.dataset.snapshot = snap;
  }
}

async function send(path, init) {
  try {
    return await fetch(path, init);
  } catch (err) {
    throw new ApiError(`The query service did not answer (${err.message}). Is it running?`, { path });
  }
}

// GET ``path`` (or POST ``body`` as JSON) and return the decoded JSON.
// Throws ApiError with the service's message, code and, for a filter, position.
export async function api(path, body) {
  const headers = { Accept: "application/json", ...authHeaders() };
  const init = body === undefined ? { headers } :
    { method: "POST", headers: { ...headers, "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const resp = await send(path, init);
  noteSnapshot(resp);
  const data = await resp.json().catch(() => null);
  if (!resp.ok) {
    const e = (data && data.error) || {};
    const message = e.message || `HTTP ${resp.status} ${resp.statusText}`.trim();
    const err = new ApiError(message, { status: resp.status, code: e.code || null, position: e.position ?? null,
                                        expected: e.expected ?? null, path });
    if (resp.status === 401 && sessionEnded) { sessionEnded(err); }
    throw err;
  }
  if (data === null) {
    throw new ApiError(`The service answered ${path} with something that is not JSON`, { status: resp.status, path });
  }
  return data;
}

async function sessionCall(method, body) {
  const init = { method, headers: { Accept: "application/json", ...CSRF } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await send(SESSION_PATH, init);
  const data = await resp.json().catch(() => null);
  if (!resp.ok || data === null) {
    const e = (data && data.error) || {};
    throw new ApiError(e.message || `HTTP ${resp.status}`, { status: resp.status, code: e.code || null, path: SESSION_PATH });
  }
  return data;
}

// {auth, user}: whether the service signs users in, and who is signed in (or null).
export function currentSession() {
  return sessionCall("GET");
}

// Sign in with a password; the answer sets the session cookie. Returns the user.
export async function signIn(username, password) {
  return (await sessionCall("POST", { username, password })).user;
}

// End the session on the server (its token is revoked) and forget the cookie.
export function signOut() {
  return sessionCall("DELETE");
}

// The URL that streams one artifact as an attachment.
export function downloadUrl(runId, path) {
  return `/api/v1/runs/${encodeURIComponent(runId)}/artifacts/download?path=${encodeURIComponent(path)}`;
}

// A plain link downloads without help; with a token the browser cannot add the
// header to a navigation, so fetch the bytes and hand them over as a blob.
export async function downloadWithToken(url, filename) {
  const resp = await send(url, { headers: authHeaders() });
  if (!resp.ok) {
    const data = await resp.json().catch(() => null);
    const e = (data && data.error) || {};
    throw new ApiError(e.message || `HTTP ${resp.status}`, { status: resp.status, code: e.code || null, path: url });
  }
  const blobUrl = URL.createObjectURL(await resp.blob());
  const link = document.createElement("a");
  link.href = blobUrl;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(blobUrl), 10_000);
}

// Readiness of the lake for the footer: {ready, snapshot_id, snapshot_age_s, materializer_lag, error}.
export async function readiness() {
  const resp = await send("/readyz", { headers: { Accept: "application/json" } });
  const data = await resp.json().catch(() => null);
  if (!data) { throw new ApiError(`readiness probe answered HTTP ${resp.status}`, { status: resp.status, path: "/readyz" }); }
  return data;
}
