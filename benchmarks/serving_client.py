"""The load client of ``benchmarks.model_serving``: keep-alive HTTP/1.1 over asyncio streams.

Run as a script: ``python serving_client.py HOST PORT CLIENTS SECONDS BODY_FILE``; prints one
JSON line (requests, requests/s, non-200 answers, p50 and p99 in ms). A short warm-up
(a fifth of the time, at most 1 s) is not counted. Deliberately minimal, so the client
costs little next to either server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def _one(host: str, port: int, request: bytes, deadline: float, out: list[float],
               errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await reader.readexactly(length)
        out.append(time.perf_counter() - started)
        if not head.startswith(b"HTTP/1.1 200"):
            errors.append(1)
    writer.close()


async def run(host: str, port: int, clients: int, seconds: float, body: bytes) -> dict[str, float]:
    """Drives the server; returns the counts and latency percentiles."""
    request = (
        f"POST /invocations HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    warm: list[float] = []
    end = time.perf_counter() + min(1.0, seconds / 5)
    await asyncio.gather(*(_one(host, port, request, end, warm, []) for _ in range(clients)))
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(
        *(_one(host, port, request, started + seconds, latencies, errors) for _ in range(clients))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    n = len(latencies)
    return {
        "n": n,
        "rps": n / elapsed,
        "errors": len(errors),
        "p50": latencies[n // 2] * 1000,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000,
    }


if __name__ == "__main__":
    host, port, clients, seconds, path = sys.argv[1:6]
    with open(path, "rb") as handle:
        data = handle.read()
    print(json.dumps(asyncio.run(run(host, int(port), int(clients), float(seconds), data))))
