"""The web UI: static HTML and JavaScript (no build step), served at ``/``.

The page (``static/``: ES modules, no third-party code) calls the native API
(``/api/v1``) from the browser; with an API token set, the first refused request
shows a token field, and the token is kept in the browser's local storage.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, Response

STATIC = Path(__file__).parent / "static"


def mount_ui(app: FastAPI) -> None:
    """Serve ``/`` (the page) and ``/ui/*`` (its scripts and styles)."""

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/ui", StaticFiles(directory=STATIC), name="ui")


__all__ = ["mount_ui"]
