// The live tail in the browser: an EventSource on /api/v1/runs/<id>/live (one run)
// or /api/v1/live (several). The browser reconnects by itself and sends the last
// event id it saw, which the service resumes from (no point missed, none twice).

const closers = new Set();  // streams of the page on screen; closed when it is left

export function follow(runIds, { snapshot = null, onHello, onMetrics, onStatus, onState } = {}) {
  const q = new URLSearchParams();
  if (snapshot !== null && snapshot !== undefined) { q.set("snapshot", String(snapshot)); }
  let url;
  if (runIds.length === 1) {
    url = `/api/v1/runs/${encodeURIComponent(runIds[0])}/live`;
  } else {
    for (const id of runIds) { q.append("run_id", id); }
    url = "/api/v1/live";
  }
  const source = new EventSource(q.toString() ? `${url}?${q}` : url);
  const parse = (handler) => (ev) => { if (handler) { handler(JSON.parse(ev.data)); } };
  source.addEventListener("hello", parse((data) => { if (onState) { onState("live"); } if (onHello) { onHello(data); } }));
  source.addEventListener("metrics", parse(onMetrics));
  source.addEventListener("status", parse(onStatus));
  source.addEventListener("error", () => { if (onState) { onState(source.readyState === 2 ? "closed" : "reconnecting"); } });
  const close = () => { source.close(); closers.delete(close); };
  closers.add(close);
  return close;
}

// Close every stream of the page being left (called by the router).
export function closeAll() {
  for (const close of [...closers]) { close(); }
}
