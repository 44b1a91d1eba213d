"""Managing access control end to end: CLI -> API -> auth.changed on the log -> lake -> checks.

The materializer and the query service run as ``runstream up`` runs them, with
auth on; every change goes through the broker and the lake before it counts.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Iterator

import httpx
import pytest

from runstream.cli.main import main
from runstream.config import Settings, settings_to_env
from runstream.materializer.rebuild import format_report, rebuild
from runstream.stack import LocalStack, free_ports

ADMIN = ("admin", "admin-password-2")
ERIN = ("erin", "erin-password-2")


@pytest.fixture
def apps(settings: Settings) -> Iterator[Settings]:
    (api_port,) = free_ports(1)
    app_settings = dataclasses.replace(
        settings,
        ports=dataclasses.replace(settings.ports, api=api_port),
        auth=True,
        admin_password=ADMIN[1],
    )
    stack = LocalStack(app_settings, with_apps=True)
    try:
        stack.start_apps()
        yield app_settings
    finally:
        stack.materializer().stop()
        stack.query().stop()


def cli(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, *argv: str, stdin: str = ""
) -> int:
    for key, value in settings_to_env(settings).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", ADMIN[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", ADMIN[1])
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


def _experiments(url: str, auth: httpx.Auth | None = None, **kw: str) -> list[str]:
    resp = httpx.get(f"{url}/api/v1/experiments", auth=auth, timeout=30, **kw)  # type: ignore[arg-type]
    assert resp.status_code == 200, resp.text
    return [e["name"] for e in resp.json()["experiments"]]


def _wait_for_lake(url: str) -> None:
    deadline = time.monotonic() + 60
    while httpx.get(f"{url}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the lake never became ready"
        time.sleep(0.5)


def test_users_tokens_groups_and_grants_through_the_cli_and_the_log(
    apps: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = apps.api_url
    _wait_for_lake(url)
    erin = httpx.BasicAuth(*ERIN)
    assert cli(monkeypatch, apps, "users", "create", "erin", "--password-stdin",
               stdin=ERIN[1] + "\n") == 0
    assert _experiments(url, erin) == []  # a new user reads nothing

    assert cli(monkeypatch, apps, "permissions", "grant", "experiment", "0", "READ",
               "--user", "erin") == 0
    assert _experiments(url, erin) == ["Default"]
    assert cli(monkeypatch, apps, "permissions", "revoke", "experiment", "0", "--user",
               "erin") == 0
    assert _experiments(url, erin) == []

    # through a group
    assert cli(monkeypatch, apps, "users", "add-to-group", "erin", "readers") == 0
    assert cli(monkeypatch, apps, "permissions", "grant", "experiment", "0", "READ",
               "--group", "readers") == 0
    assert _experiments(url, erin) == ["Default"]

    # erin's own token; a read token cannot mint a wider one; the admin revokes it
    issued = httpx.post(f"{url}/api/v1/auth/tokens", json={"scopes": ["read"]}, auth=erin,
                        timeout=30).json()
    assert issued["visible"]
    token = {"Authorization": f"Bearer {issued['token']}"}
    assert _experiments(url, headers=token) == ["Default"]
    wider = httpx.post(f"{url}/api/v1/auth/tokens", json={"scopes": ["manage"]}, headers=token,
                       timeout=30)
    assert wider.status_code == 403
    assert httpx.get(f"{url}/api/v1/auth/users", auth=erin, timeout=30).status_code == 403
    capsys.readouterr()
    assert cli(monkeypatch, apps, "tokens", "revoke", issued["token_id"]) == 0
    assert httpx.get(f"{url}/api/v1/experiments", headers=token, timeout=30).status_code == 401

    # the audit trail: who did what, from the lake
    audit = httpx.get(f"{url}/api/v1/auth/audit", auth=httpx.BasicAuth(*ADMIN), timeout=30)
    assert audit.status_code == 200, audit.text
    actions = [(e["actor"], e["action"]) for e in reversed(audit.json()["events"])]
    assert actions == [
        ("admin", "user_set"),
        ("admin", "permission_set"),
        ("admin", "permission_deleted"),
        ("admin", "member_added"),
        ("admin", "permission_set"),
        ("erin", "token_issued"),
        ("admin", "token_revoked"),
    ]
    assert "$argon2" not in audit.text
    capsys.readouterr()
    assert cli(monkeypatch, apps, "users", "list", "--json") == 0
    assert '"erin"' in capsys.readouterr().out

    # the trail survives a rebuild: replaying the archive gives the same auth tables
    LocalStack(apps, with_apps=True).materializer().stop()
    report = rebuild(apps)
    assert report.ok, format_report(report)
    audit_rows = [d.rows_a for d in report.diffs if d.table == "auth_audit"]
    assert audit_rows == [7], format_report(report)
