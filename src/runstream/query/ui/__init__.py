"""The web UI: one HTML page and its bundle, served at ``/``.

The page's sources are ES modules in ``web/``; ``make ui`` (run by ``make up``
and ``make test``) bundles them with the chart library (uPlot, from npm) into
``dist/`` with esbuild. ``dist/`` is not in git; it ships inside the wheel, so a
``pip install runstream`` user needs no node. The page calls the native API
(``/api/v1``) from the browser. With access control on it shows a sign-in form
first and then carries a session cookie (:mod:`runstream.query.http.session`);
with only an API token set, the first refused request shows a token field, and
the token is kept in the browser's local storage.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, HTMLResponse, Response

HERE = Path(__file__).parent
INDEX = HERE / "index.html"
DIST = HERE / "dist"

_NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Runstream</title>
<h1>The web UI is not built</h1>
<p>This checkout has no UI bundle ({dist}). Run <code>make ui</code> (or <code>make up</code>)
in the repository, then reload. The API is at <a href="/docs">/docs</a>.</p>"""


def bundle_built() -> bool:
    """Whether the bundle the page loads is there."""
    return (DIST / "app.js").is_file() and (DIST / "app.css").is_file()


def mount_ui(app: FastAPI) -> None:
    """Serve ``/`` (the page) and ``/ui/*`` (its bundle)."""

    @app.get("/", include_in_schema=False)
    def index() -> Response:
        if not bundle_built():
            return HTMLResponse(_NOT_BUILT.format(dist=DIST), status_code=503)
        return FileResponse(INDEX, media_type="text/html")

    # check_dir=False: a checkout without a bundle still starts (the page says what to do).
    app.mount("/ui", StaticFiles(directory=DIST, check_dir=False), name="ui")


__all__ = ["bundle_built", "mount_ui"]
