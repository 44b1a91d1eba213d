"""Signing in to the web UI with access control on, in a real browser.

Real stack: the broker, a materializer, and the server as ``runstream serve``
builds it (reads and the MLflow write gateway), with ``RUNSTREAM_AUTH=1``. alice
and bob each create a private experiment through MLflow's own client (the creator
gets MANAGE, nobody else anything); carol and dave read nothing. Every sign-in
goes through the broker and the lake (the session is a service token). The last
test trips the failed-login limit of the browser's address, so it stays last.
Screenshots go to tests/artifacts/ui/.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import httpx
import pytest
from materializer_support import wait_for
from mlflow import MlflowClient
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_gateway_auth import server_with_users
from test_query_helpers import per_test_settings
from test_query_ui_charts import shot
from ui_support import TIMEOUT_MS, VIEWPORT

from runstream.config import Settings
from runstream.query.ui import bundle_built

ADMIN = ("admin", "admin-password-3")
PASSWORDS = {name: f"{name}-password-3" for name in ("alice", "bob", "carol", "dave")}
CSRF = {"X-Runstream-CSRF": "1"}
MAX_FAILURES = 20


@dataclasses.dataclass(frozen=True)
class Stack:
    url: str
    experiments: dict[str, str]  # owner -> id of their private experiment


@pytest.fixture(scope="module")
def stack(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The server with auth on, four users, and alice's and bob's private experiments."""
    if not bundle_built():
        pytest.fail("the UI bundle is not built: run `make ui` (make test does)", pytrace=False)
    settings = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-ui-login"))
    settings = dataclasses.replace(
        settings,
        read_after_timeout_s=30.0,
        auth=True,
        admin_password=ADMIN[1],
        auth_max_failures=MAX_FAILURES,
    )
    with server_with_users(settings, ADMIN, PASSWORDS) as url, pytest.MonkeyPatch.context() as mp:
        experiments = {}
        for owner in ("alice", "bob"):
            mp.setenv("MLFLOW_TRACKING_USERNAME", owner)
            mp.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORDS[owner])
            client = MlflowClient(tracking_uri=url)
            experiment = client.create_experiment(f"{owner}-private")
            run = client.create_run(experiment, run_name=f"{owner}-run")
            client.log_metric(run.info.run_id, "loss", 0.5)
            client.set_terminated(run.info.run_id)
            experiments[owner] = experiment
        mp.delenv("MLFLOW_TRACKING_USERNAME")
        mp.delenv("MLFLOW_TRACKING_PASSWORD")

        def runs_in_lake() -> int:
            found = httpx.post(
                f"{url}/api/v1/runs/search",
                json={"experiment_ids": list(experiments.values())},
                auth=ADMIN,
                timeout=30,
            )
            return len(found.json().get("runs", [])) if found.is_success else -1

        wait_for("both runs in the lake", runs_in_lake, lambda n: n == 2, 120)
        yield Stack(url, experiments)


def _tab(browser: Browser, url: str) -> tuple[BrowserContext, Page, list[str]]:
    context = browser.new_context(base_url=url, viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, tab, errors


@pytest.fixture
def page(stack: Stack, browser: Browser) -> Iterator[Page]:
    """A fresh browser (no cookies) on the server; fails on JavaScript errors.

    The stack comes first: Playwright's sync API runs an event loop in this thread.
    """
    context, tab, errors = _tab(browser, stack.url)
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page: Page, user: str, password: str | None = None) -> None:
    """Type a username and password into the sign-in form and submit it."""
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(PASSWORDS[user] if password is None else password)
    page.get_by_role("button", name="Sign in").click()


def session_cookie(context: BrowserContext) -> dict[str, object]:
    """The browser's session cookie (HttpOnly: the page's scripts cannot read it)."""
    found = [c for c in context.cookies() if c["name"] == "runstream_session"]
    assert len(found) == 1, context.cookies()
    return dict(found[0])


def test_a_wrong_password_is_refused_on_the_sign_in_page(page: Page) -> None:
    """Without a session the page asks who you are; a wrong password says so."""
    page.goto("/")
    form = page.get_by_role("form", name="Sign in to Runstream")
    expect(form).to_be_visible()
    expect(page.locator("aside")).to_be_hidden()  # nothing of the experiments shows
    expect(page.get_by_role("link", name="Models")).to_be_hidden()

    sign_in(page, "alice", "not-her-password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(form).to_be_visible()
    expect(page.get_by_label("Password")).to_have_value("")
    assert not [c for c in page.context.cookies() if c["name"] == "runstream_session"]
    shot(page, "login-refused")


def test_signing_in_opens_the_page_asked_for_with_only_what_the_user_may_read(
    page: Page, stack: Stack
) -> None:
    """alice asked for her experiment: after signing in she sees it, never bob's."""
    mine, bobs = stack.experiments["alice"], stack.experiments["bob"]
    page.goto(f"/#/experiments/{mine}")
    sign_in(page, "alice")
    expect(page.get_by_role("heading", name="alice-private")).to_be_visible()
    expect(page.locator("#runs tbody tr.run")).to_have_count(1)
    expect(page.locator("#runs tbody tr.run")).to_contain_text("alice-run")
    sidebar = page.locator("aside")
    expect(sidebar.get_by_role("link")).to_have_text(["alice-private"])
    expect(page.get_by_role("button", name="alice")).to_be_visible()
    cookie = session_cookie(page.context)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict", cookie

    page.get_by_role("link", name="Runstream").click()  # the experiments list
    expect(page.locator("#experiment-table tbody tr")).to_have_count(1)
    expect(page.locator("#experiment-table")).to_contain_text("alice-private")
    expect(page.locator("#experiment-table")).not_to_contain_text("bob-private")
    expect(page.locator("#experiment-table")).not_to_contain_text("Default")
    shot(page, "login-experiments")

    page.goto(f"/#/experiments/{bobs}")  # bob's, by its address
    expect(page.get_by_role("alert").first).to_contain_text("Permission denied")
    expect(page.locator("#runs tbody tr.run")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("bob-run")


def test_the_user_menu_signs_out_and_the_old_cookie_stops_working(page: Page, stack: Stack) -> None:
    """The menu says who is signed in; signing out returns to the form for good."""
    page.goto("/")
    sign_in(page, "bob")
    expect(page.locator("#experiment-table")).to_contain_text("bob-private")
    old = str(session_cookie(page.context)["value"])

    page.get_by_role("button", name="bob").click()
    menu = page.locator("#user-menu")
    expect(menu).to_contain_text("Signed in as bob")
    expect(menu).to_contain_text("session until")
    shot(page, "login-user-menu")
    menu.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("form", name="Sign in to Runstream")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You have signed out.")
    expect(page.locator("main")).not_to_contain_text("bob-private")
    expect(page.get_by_role("button", name="bob")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("form", name="Sign in to Runstream")).to_be_visible()
    # A copy of the cookie kept from before is refused: signing out revoked its token.
    replay = httpx.get(
        f"{stack.url}/api/v1/experiments",
        headers={"Cookie": f"runstream_session={old}"},
        timeout=30,
    )
    assert replay.status_code == 401, replay.text


def test_a_deleted_user_or_a_revoked_session_returns_to_the_sign_in_page(
    stack: Stack, browser: Browser
) -> None:
    """carol's user is deleted, dave's session token revoked: both are signed out."""
    tabs = {}
    try:
        for user in ("carol", "dave"):
            context, tab, errors = _tab(browser, stack.url)
            tabs[user] = (context, tab, errors)
            tab.goto("/")
            sign_in(tab, user)
            expect(tab.get_by_role("heading", name="Experiments", level=1)).to_be_visible()
            expect(tab.get_by_role("button", name=user)).to_be_visible()

        deleted = httpx.delete(f"{stack.url}/api/v1/auth/users/carol", auth=ADMIN, timeout=60)
        assert deleted.status_code == 200 and deleted.json()["visible"], deleted.text
        tokens = httpx.get(f"{stack.url}/api/v1/auth/tokens", auth=ADMIN, timeout=30).json()
        (daves,) = [t for t in tokens["tokens"] if t["username"] == "dave"]
        assert daves["scopes"] == ["read"] and daves["expires_at"] is not None
        revoked = httpx.delete(
            f"{stack.url}/api/v1/auth/tokens/{daves['token_id']}", auth=ADMIN, timeout=60
        )
        assert revoked.status_code == 200 and revoked.json()["visible"], revoked.text

        for user in ("carol", "dave"):
            tab = tabs[user][1]
            tab.get_by_role("link", name="Models").click()  # the next request is refused
            expect(tab.get_by_role("form", name="Sign in to Runstream")).to_be_visible()
            expect(tab.get_by_role("status")).to_have_text("Your session has ended; sign in again.")
            expect(tab.get_by_role("button", name=user)).to_have_count(0)
        shot(tabs["dave"][1], "login-session-ended")

        carol = tabs["carol"][1]
        sign_in(carol, "carol")  # her user is gone
        expect(carol.get_by_role("alert")).to_have_text("Wrong username or password.")
        dave = tabs["dave"][1]
        sign_in(dave, "dave")  # a new session for dave, on the page he was on
        expect(dave.get_by_role("heading", name="Models")).to_be_visible()
    finally:
        for context, _, errors in tabs.values():
            context.close()
            assert not errors, f"JavaScript errors on the page: {errors}"


def test_the_session_cookie_counts_only_on_this_servers_own_pages(stack: Stack) -> None:
    """The cookie reads the native API from this origin, needs the header on a POST,
    is refused from another origin, never counts on MLflow's API, and writes nothing."""
    url = stack.url
    creds = {"username": "alice", "password": PASSWORDS["alice"]}
    forged = httpx.post(f"{url}/api/v1/auth/session", json=creds, timeout=60)
    assert forged.status_code == 401 and "X-Runstream-CSRF" in forged.text, forged.text
    signed = httpx.post(f"{url}/api/v1/auth/session", json=creds, headers=CSRF, timeout=60)
    assert signed.status_code == 200, signed.text
    set_cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie, set_cookie
    assert "Path=/" in set_cookie and "Max-Age=28800" in set_cookie, set_cookie
    token = signed.cookies["runstream_session"]
    cookie = {"Cookie": f"runstream_session={token}"}

    def status(method: str, path: str, **headers: str) -> int:
        body = {"experiment_ids": [stack.experiments["alice"]]} if method == "POST" else None
        answer = httpx.request(
            method, f"{url}{path}", json=body, headers={**cookie, **headers}, timeout=30
        )
        return answer.status_code

    me = httpx.get(f"{url}/api/v1/auth/whoami", headers=cookie, timeout=30).json()
    assert (me["username"], me["via"], me["cap"]) == ("alice", "session", "READ")
    assert status("GET", "/api/v1/experiments") == 200
    assert status("GET", "/api/v1/experiments", **{"Sec-Fetch-Site": "same-origin"}) == 200
    assert status("POST", "/api/v1/runs/search") == 401  # no header: a form of another site
    assert status("POST", "/api/v1/runs/search", **CSRF) == 200
    assert status("GET", "/api/v1/experiments", **{"Sec-Fetch-Site": "cross-site"}) == 401
    assert status("GET", "/api/v1/experiments", **{"Sec-Fetch-Site": "same-site"}) == 401
    assert status("POST", "/api/v1/runs/search", Origin="http://127.0.0.1:1", **CSRF) == 401
    assert status("POST", "/api/2.0/mlflow/experiments/create", **CSRF) == 401
    # The session's token is read-scoped: even sent as a bearer token it writes nothing.
    write = httpx.post(
        f"{url}/api/2.0/mlflow/experiments/create",
        json={"name": "by-session"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert write.status_code == 403, write.text
    out = httpx.delete(f"{url}/api/v1/auth/session", headers={**cookie, **CSRF}, timeout=60)
    assert out.status_code == 200 and out.json()["visible"], out.text
    assert 'runstream_session=""' in out.headers["set-cookie"], out.headers["set-cookie"]
    assert status("GET", "/api/v1/experiments") == 401


def test_repeated_wrong_passwords_show_the_servers_rate_limit(page: Page) -> None:
    """Past the failed-login limit the form shows the server's 429 message."""
    page.goto("/")
    expect(page.get_by_role("form", name="Sign in to Runstream")).to_be_visible()
    alert = page.get_by_role("alert")
    for _ in range(MAX_FAILURES + 1):
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            sign_in(page, "mallory", "guessing")
        if answer.value.status == 429:
            break
        expect(alert).to_have_text("Wrong username or password.")
    assert answer.value.status == 429
    assert int(answer.value.headers["retry-after"]) >= 1
    expect(alert).to_have_text(re.compile(r"^Too many failed logins; retry in \d+ s\.$"))
    shot(page, "login-rate-limited")
