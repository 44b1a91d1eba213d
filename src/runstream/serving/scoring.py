"""MLflow's scoring protocol: one request body in, a status, a JSON body and a media type out.

Parsing (``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``,
``params``, ``text/csv``), schema enforcement and the JSON of predictions are
MLflow's own (``mlflow.pyfunc.scoring_server.invocations``). Runstream adds what a
server facing the network needs:

1. Any failure to parse the body is the caller's: a 400 in MLflow's envelope
   (``{"error_code": "BAD_REQUEST", "message": ...}``), never a 500. MLflow lets
   some parser errors (nested garbage, deep nesting) escape as 500s.
2. A signature mismatch is MLflow's ``MlflowException``: its own status (400) and
   envelope, whose message names the column and the type expected.
3. The message never echoes the whole input back (MLflow's does, which for a 10 MB
   body is a 10 MB error); it is cut at :data:`MAX_MESSAGE`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

_log = logging.getLogger(__name__)
MAX_MESSAGE = 2000
JSON = "application/json"


@dataclass(frozen=True)
class Scored:
    """The answer to one request."""

    status: int
    body: bytes
    media_type: str = JSON


def envelope(status: int, error_code: str, message: str) -> Scored:
    """An error in MLflow's JSON envelope."""
    text = message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + " ..."
    return Scored(status, orjson.dumps({"error_code": error_code, "message": text}))


def _mlflow_error(exc: Any) -> Scored:
    status = int(exc.get_http_status_code())
    code = str(exc.error_code)
    if status >= 500:
        # The input reached the model and the model failed on it: MLflow says 500 for
        # some of these (e.g. a NaN the estimator refuses); it is the caller's input.
        status = 400
        code = "BAD_REQUEST"
    return envelope(status, code, str(exc.message))


def score(model: Any, input_schema: Any, body: bytes, content_type: str | None) -> Scored:
    """Answers one ``POST /invocations`` body with MLflow's own parsing and enforcement."""
    from mlflow.exceptions import MlflowException
    from mlflow.pyfunc import scoring_server

    if not content_type:
        return envelope(415, "BAD_REQUEST", "Content-Type must be application/json or text/csv")
    try:
        result = scoring_server.invocations(  # type: ignore[no-untyped-call]
            body, content_type, model, input_schema
        )
    except MlflowException as exc:
        return _mlflow_error(exc)
    except (RecursionError, MemoryError) as exc:
        return envelope(400, "BAD_REQUEST", f"the body is nested too deeply or too large: {exc!r}")
    except Exception as exc:  # a parser error MLflow lets through: still the caller's input
        _log.debug("unparsable request body", exc_info=True)
        return envelope(400, "BAD_REQUEST", f"could not read the request body: {exc!r}")
    payload = result.response
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    if result.status != 200:
        return envelope(result.status, "BAD_REQUEST", data.decode(errors="replace"))
    return Scored(200, data, result.mimetype)


__all__ = ["JSON", "MAX_MESSAGE", "Scored", "envelope", "score"]
