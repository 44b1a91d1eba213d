"""The read-only query service: HTTP over the lake (native API, MLflow REST, UI, SQL).

Rooms (imports point down; ``tests/unit/test_layers.py`` checks it):

- ``http/``: the app factory (``create_app``), routes (one router per resource),
  response schemas, MLflow's REST read API (``http/mlflow/``), the one table from
  domain errors to HTTP answers, middleware and Prometheus counters. Only this
  room (and ``ui/``) imports FastAPI.
- ``ui/``: the web UI's static page, mounted by the app factory.
- ``read/``: the readers (a lake read session in, domain records out, no HTTP),
  the session over the lake's read port, the run index cache, and the pure
  helpers of reading (downsampling, the SQL guard, artifact paths, model URIs).
- ``search/``: pure, no I/O: the filter grammar (lexer, syntax tree, parser), the
  search planner with its cursor and page tokens, and the two executors of a
  planned run search (the in-memory run index and the SQL compiler).
- ``records``: the domain records the readers return (a leaf).

The CLI commands live in ``runstream.cli.query_commands``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runstream.query.http.app import create_app


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the readers (the CLI's one-shot commands) loads no FastAPI.
    if name == "create_app":
        from runstream.query.http.app import create_app

        return create_app
    raise AttributeError(name)


__all__ = ["create_app"]
