"""The model server: a small ASGI app speaking MLflow's scoring protocol.

Routes: ``GET /ping`` and ``/health`` (200 once every target is loaded), ``GET /version``
(JSON: which version each arm serves now, and which worker process answered), ``GET
/metrics`` (Prometheus), ``POST /invocations`` (MLflow's bodies, see
:mod:`runstream.serving.scoring`). Every
``/invocations`` answer names the arm and model version that answered in the
``X-Runstream-Arm`` and ``X-Runstream-Model-Version`` headers.

A request's contract:

1. The body is read up to ``max_body_bytes``; past that the answer is 413 at once
   (a ``Content-Length`` above it is refused before reading).
2. The arm is picked (sticky header, else weights) and its current model taken
   once: the whole request is answered by that one model even if a swap happens.
3. ``predict`` runs in a worker thread; past ``timeout_s`` the answer is 504 (the
   thread finishes in the background, its result dropped).
4. The answer is counted (``/metrics``) and, when enabled, offered to the
   prediction log, which never blocks (it drops when its buffer is full).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

import orjson

from runstream.serving.fast_path import try_fast
from runstream.serving.metrics import ServingMetrics
from runstream.serving.options import ServeOptions
from runstream.serving.router import Router
from runstream.serving.scoring import JSON, Scored, envelope, score
from runstream.serving.targets import Loaded, Target, Watcher

_log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class PredictionSink(Protocol):
    """Where answered requests go for the prediction log (never blocks)."""

    def offer(self, record: dict[str, Any]) -> None:
        """Takes a record or drops it (and counts the drop)."""
        ...

    def close(self) -> None:
        """Flushes what it can and stops."""
        ...


class _TooLarge(Exception):
    pass


class ServingApp:
    """The ASGI application; targets are loaded at lifespan start, not in the constructor."""

    def __init__(
        self,
        targets: list[Target],
        options: ServeOptions,
        sink: PredictionSink | None = None,
    ) -> None:
        self.targets = targets
        self.options = options
        self.metrics = ServingMetrics()
        self.router = Router(targets, [t.weight for t in targets])
        self.watcher = Watcher(targets, options.poll_s)
        self.sink = sink
        self.ready = False
        self._pool: ThreadPoolExecutor | None = None
        self._header = options.sticky_header.lower().encode()

    async def startup(self) -> None:
        """Loads every target (in a thread), then starts following the registry."""
        self._pool = ThreadPoolExecutor(self.options.threads, thread_name_prefix="predict")
        loop = asyncio.get_running_loop()
        for target in self.targets:
            loaded = await loop.run_in_executor(None, target.load_initial)
            _log.info("serving %s (arm %s) version %s", target.uri, target.arm, loaded.version)
        self.watcher.start()
        self.ready = True

    async def shutdown(self) -> None:
        """Stops the watcher, the predict threads and the prediction log."""
        self.watcher.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self.sink is not None:
            self.sink.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/invocations" and method == "POST":
            await self._invocations(scope, receive, send)
        elif path in ("/ping", "/health") and method == "GET":
            await _respond(send, 200 if self.ready else 503, b"\n")
        elif path == "/version" and method == "GET":
            await _respond(send, 200, orjson.dumps(self.version()))
        elif path == "/metrics" and method == "GET":
            await _respond(send, 200, self.metrics.render().encode(), "text/plain; version=0.0.4")
        elif path in ("/invocations", "/ping", "/health", "/version", "/metrics"):
            await _send(send, envelope(405, "BAD_REQUEST", f"{method} is not allowed on {path}"))
        else:
            await _send(send, envelope(404, "ENDPOINT_NOT_FOUND", f"no route {path}"))

    def version(self) -> dict[str, Any]:
        """What ``/version`` answers: MLflow's version and each arm's model version now.

        ``worker`` is this server process's id: with ``--workers N`` each process loads
        and follows the registry on its own, so the answer is the one process's.
        """
        from importlib.metadata import version

        arms = []
        for t in self.targets:
            now = t.current
            arms.append({
                "arm": t.arm, "uri": t.uri, "weight": t.weight,
                "name": now.name if now else None, "version": now.version if now else None,
            })
        return {"mlflow_version": version("mlflow-skinny"), "worker": os.getpid(), "models": arms}

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    _log.exception("the model server could not load its models")
                    await send({"type": "lifespan.startup.failed", "message": repr(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _body(self, scope: Scope, receive: Receive) -> bytes:
        limit = self.options.max_body_bytes
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                raise _TooLarge
        chunks, size = [], 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)

    def _header_of(self, scope: Scope, wanted: bytes) -> str | None:
        for name, value in scope["headers"]:
            if name == wanted:
                return str(value.decode("latin-1"))
        return None

    async def _invocations(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        target: Target = self.router.pick(self._header_of(scope, self._header))
        loaded = target.current
        if loaded is None:
            await _send(send, envelope(503, "TEMPORARILY_UNAVAILABLE", "the model is loading"))
            return
        try:
            body = await self._body(scope, receive)
        except _TooLarge:
            limit = self.options.max_body_bytes
            answer = envelope(413, "BAD_REQUEST", f"the body is larger than {limit} bytes")
            await self._finish(send, target, loaded, answer, started, None)
            return
        content_type = self._header_of(scope, b"content-type")
        answer = await self._predict(loaded, body, content_type)
        await self._finish(send, target, loaded, answer, started, body)

    async def _predict(self, loaded: Loaded, body: bytes, content_type: str | None) -> Scored:
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(self._pool, answer, loaded, body, content_type)
        try:
            return await asyncio.wait_for(job, self.options.timeout_s)
        except TimeoutError:
            return envelope(
                504, "DEADLINE_EXCEEDED",
                f"predict took longer than {self.options.timeout_s:g} s",
            )

    async def _finish(
        self, send: Send, target: Target, loaded: Loaded, answer: Scored, started: float,
        body: bytes | None,
    ) -> None:
        headers = [
            (b"x-runstream-arm", target.arm.encode()),
            (b"x-runstream-model-version", loaded.version.encode()),
        ]
        if loaded.name:
            headers.append((b"x-runstream-model-name", loaded.name.encode()))
        await _send(send, answer, headers)
        elapsed = time.perf_counter() - started
        self.metrics.observe(target.arm, loaded.version, answer.status, elapsed)
        if self.sink is not None and body is not None:
            self.sink.offer({
                "model_name": loaded.name, "version": loaded.version, "arm": target.arm,
                "uri": target.uri, "status": answer.status, "latency_ms": elapsed * 1000.0,
                "request": body, "response": answer.body,
            })


def answer(loaded: Loaded, body: bytes, content_type: str | None) -> Scored:
    """The fast path when it applies (see :mod:`runstream.serving.fast_path`), else MLflow's."""
    if loaded.fast is not None:
        fast = try_fast(loaded.fast, body, content_type)
        if fast is not None:
            return fast
    return score(loaded.model, loaded.input_schema, body, content_type)


async def _respond(
    send: Send, status: int, body: bytes, media_type: str = JSON,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", media_type.encode()),
            (b"content-length", str(len(body)).encode()),
            *(headers or []),
        ],
    })
    await send({"type": "http.response.body", "body": body})


async def _send(
    send: Send, answer: Scored, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _respond(send, answer.status, answer.body, answer.media_type, headers)


__all__ = ["PredictionSink", "ServingApp", "answer"]
