"""How a model server is configured (built at the CLI edge, passed to workers as JSON)."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from runstream.errors import ValidationError

ENV_VAR = "RUNSTREAM_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``runstream models serve`` was told.

    Attributes:
        targets: ``(uri, weight)`` per arm; one target serves all traffic.
        host: address to bind.
        port: port to bind.
        workers: server processes (each loads and follows its own copy).
        timeout_s: a predict running longer is answered 504.
        max_body_bytes: larger bodies are answered 413.
        poll_s: how often a stage/alias target asks the registry.
        sticky_header: the request header whose value pins a caller to one arm.
        threads: predict threads per process (one by default: predicts of a CPU-bound
            model in several threads fight over the GIL, see docs/serving.md).
        log_predictions: the share of requests published to the prediction log
            (0: off; see ``runstream.serving.prediction_log``).
    """

    targets: tuple[tuple[str, float], ...]
    host: str = "127.0.0.1"
    port: int = 5001
    workers: int = 1
    timeout_s: float = 60.0
    max_body_bytes: int = 8 * 1024 * 1024
    poll_s: float = 2.0
    sticky_header: str = "X-Runstream-Route-Key"
    threads: int = 1
    log_predictions: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.log_predictions <= 1.0:
            share = self.log_predictions
            raise ValidationError(
                f"--log-predictions takes a share of requests in (0, 1], not {share:g}"
            )

    def to_json(self) -> str:
        """The options as JSON (for worker processes)."""
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        """Options back from :meth:`to_json`."""
        data = json.loads(text)
        data["targets"] = tuple((str(u), float(w)) for u, w in data["targets"])
        return cls(**data)


def parse_target(raw: str) -> tuple[str, float]:
    """``models:/churn@champion=90`` -> ``("models:/churn@champion", 90.0)``; no weight: 1.

    Raises:
        ValidationError: a weight that is not a number >= 0.
    """
    uri, sep, weight = raw.rpartition("=")
    if not sep or "/" in weight or not weight.strip():
        return raw, 1.0
    try:
        value = float(weight)
    except ValueError:
        return raw, 1.0
    if value < 0:
        raise ValidationError(f"the weight of {uri!r} must be >= 0, not {value:g}")
    return uri, value


__all__ = ["ENV_VAR", "ServeOptions", "parse_target"]
