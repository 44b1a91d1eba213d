"""When the web UI's session cookie counts as a request's credential (query.http.session)."""

from __future__ import annotations

from typing import Any

import pytest

from runstream.auth.secrets import new_token
from runstream.errors import AuthenticationError
from runstream.query.http.session import request_credential

TOKEN = new_token()[0]


def _scope(method: str = "GET", path: str = "/api/v1/experiments", **headers: str) -> Any:
    raw = {"host": "127.0.0.1:5000", "cookie": f"theme=dark; runstream_session={TOKEN}"}
    raw.update({k.replace("_", "-").lower(): v for k, v in headers.items()})
    return {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.encode(), v.encode()) for k, v in raw.items() if v],
    }


def test_the_cookie_reads_the_native_api_from_this_origin() -> None:
    assert request_credential(_scope()) == (f"Bearer {TOKEN}", True)
    assert request_credential(_scope(sec_fetch_site="same-origin")) == (f"Bearer {TOKEN}", True)
    assert request_credential(_scope(sec_fetch_site="none"))[1]  # an address typed in
    assert request_credential(_scope(origin="http://127.0.0.1:5000"))[1]
    assert request_credential(_scope(path="/docs"))[1]


def test_a_header_wins_and_other_paths_ignore_the_cookie() -> None:
    assert request_credential(_scope(authorization="Basic eDp5")) == ("Basic eDp5", False)
    assert request_credential(_scope(path="/api/2.0/mlflow/runs/get")) == (None, False)
    assert request_credential(_scope(cookie="runstream_session=not-a-token")) == (None, False)
    assert request_credential(_scope(cookie="")) == (None, False)


@pytest.mark.parametrize(
    ("method", "headers", "says"),
    [
        ("GET", {"sec_fetch_site": "cross-site"}, "Sec-Fetch-Site: cross-site"),
        ("GET", {"sec_fetch_site": "same-site"}, "Sec-Fetch-Site: same-site"),  # another port
        ("GET", {"origin": "http://127.0.0.1:8080"}, "Origin: http://127.0.0.1:8080"),
        ("GET", {"origin": "null"}, "Origin: null"),
        ("POST", {}, "needs the header X-Runstream-CSRF: 1"),
        ("DELETE", {"x_runstream_csrf": "yes"}, "needs the header X-Runstream-CSRF: 1"),
    ],
)
def test_requests_another_site_could_make_are_refused(
    method: str, headers: dict[str, str], says: str
) -> None:
    with pytest.raises(AuthenticationError, match=says):
        request_credential(_scope(method, **headers))


def test_a_post_from_the_page_counts() -> None:
    scope = _scope(
        "POST", "/api/v1/runs/search", x_runstream_csrf="1", sec_fetch_site="same-origin"
    )
    assert request_credential(scope) == (f"Bearer {TOKEN}", True)
