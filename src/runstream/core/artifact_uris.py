"""How artifact locations are shown to MLflow's client: ``mlflow-artifacts:/`` URIs.

Runstream stores artifacts in one S3 bucket. MLflow's client, given an
``s3://`` URI, would need boto3 and our S3 keys; given ``mlflow-artifacts:/<path>``
it lists, uploads and downloads through the tracking server's artifact proxy
(``/api/2.0/mlflow-artifacts/artifacts/<path>``) with no credentials. So every
location inside the artifacts bucket is shown as ``mlflow-artifacts:/<key>`` and
read back to ``s3://<bucket>/<key>``; locations elsewhere pass through unchanged.
"""

from __future__ import annotations

from typing import Final

PROXY_SCHEME: Final = "mlflow-artifacts:"


def to_proxy_uri(uri: str | None, bucket: str) -> str | None:
    """``s3://<bucket>/<key>`` -> ``mlflow-artifacts:/<key>``; other URIs unchanged."""
    if uri is None:
        return None
    prefix = f"s3://{bucket}"
    if uri == prefix or uri == prefix + "/":
        return f"{PROXY_SCHEME}/"
    if uri.startswith(prefix + "/"):
        return f"{PROXY_SCHEME}/{uri[len(prefix) + 1:]}"
    return uri


def from_proxy_uri(uri: str, bucket: str) -> str:
    """``mlflow-artifacts:/<key>`` (or ``mlflow-artifacts://host/<key>``) -> ``s3://<bucket>/<key>``."""
    if not uri.startswith(PROXY_SCHEME):
        return uri
    rest = uri[len(PROXY_SCHEME):]
    if rest.startswith("//"):  # mlflow-artifacts://host:port/key
        rest = rest[2:].partition("/")[2]
    return f"s3://{bucket}/{rest.lstrip('/')}".rstrip("/")


__all__ = ["PROXY_SCHEME", "from_proxy_uri", "to_proxy_uri"]
