"""``runstream models predict``: one file scored exactly as the server scores a request body."""

from __future__ import annotations

import tempfile
from pathlib import Path

from runstream.config import Settings
from runstream.serving.scoring import score
from runstream.serving.server import load_pyfunc

CONTENT_TYPES = {"json": "application/json", "csv": "text/csv"}


def predict_file(
    model_uri: str, input_path: Path, content_type: str, settings: Settings
) -> tuple[int, bytes]:
    """Loads the model, scores the file's bytes; returns the status and the JSON answer."""
    from runstream.sdk.client import RunstreamClient
    from runstream.sdk.models import download_model

    client = RunstreamClient(settings=settings)
    try:
        folder = download_model(client, model_uri, Path(tempfile.mkdtemp(prefix="runstream-")))
    finally:
        client.close(5.0)
    model = load_pyfunc(folder)
    schema = model.metadata.get_input_schema()
    answer = score(model, schema, input_path.read_bytes(), CONTENT_TYPES[content_type])
    return answer.status, answer.body


__all__ = ["predict_file"]
