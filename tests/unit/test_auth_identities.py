"""Permissions, the directory's rule, passwords, tokens and the authenticator."""

from __future__ import annotations

import base64
import statistics
import time

import pytest

from runstream.auth import AuthConfig, AuthDirectory, Authenticator, Grant, Principal, UserRecord
from runstream.auth.directory import TokenRecord
from runstream.auth.secrets import hash_password, new_token, parse_token
from runstream.errors import AuthenticationError, TooManyAttemptsError
from runstream.events import Permission as P
from runstream.events import PrincipalType, ResourceType, TokenScope

EXP = ResourceType.EXPERIMENT
USER, GROUP = PrincipalType.USER, PrincipalType.GROUP


def _directory(default: P = P.NO_PERMISSIONS, **extra: object) -> AuthDirectory:
    grants = (
        Grant(EXP, "1", USER, "alice", P.READ),
        Grant(EXP, "1", GROUP, "team", P.MANAGE),  # the user's own grant wins
        Grant(EXP, "2", GROUP, "team", P.EDIT),
        Grant(EXP, "2", GROUP, "other", P.MANAGE),
        Grant(EXP, "3", USER, "alice", P.NO_PERMISSIONS),
    )
    return AuthDirectory(grants=grants, default=default, members={"team": frozenset({"alice"})})


def test_user_grant_then_groups_then_default() -> None:
    d = _directory()
    alice = Principal("alice", groups=d.groups_of("alice"))
    assert d.permission(alice, EXP, "1") is P.READ
    assert d.permission(alice, EXP, "2") is P.EDIT
    assert d.permission(alice, EXP, "9") is P.NO_PERMISSIONS
    assert d.readable(alice, EXP).allowed == {"1", "2"}
    assert d.readable(Principal("bob"), EXP).allowed == frozenset()
    assert d.readable(Principal("root", is_admin=True), EXP).everything


def test_a_read_default_hides_only_what_was_taken_away() -> None:
    d = _directory(P.READ)
    alice = Principal("alice", groups=frozenset({"team"}))
    scope = d.readable(alice, EXP)
    assert scope.allowed is None and scope.denied == {"3"}
    assert scope.permits("9") and not scope.permits("3")


def test_token_scopes_cap_the_owners_permission() -> None:
    d = _directory()
    capped = Principal("alice", groups=frozenset({"team"}), cap=P.READ)
    assert d.permission(capped, EXP, "2") is P.READ
    admin_token = Principal("root", is_admin=True, cap=P.READ)
    assert d.permission(admin_token, EXP, "2") is P.READ


def test_token_text_round_trip() -> None:
    text, token_id, token_hash = new_token()
    assert parse_token(text) == (token_id, text.split("_", 2)[2])
    assert len(token_hash) == 64 and parse_token("rst_short_x") is None


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def world() -> tuple[Authenticator, AuthDirectory, dict[str, str]]:
    good, good_id, good_hash = new_token()
    old, old_id, old_hash = new_token()
    gone, gone_id, gone_hash = new_token()
    d = AuthDirectory(
        users={"alice": UserRecord("alice", hash_password("alice-secret"), False)},
        members={"team": frozenset({"alice"})},
        tokens={
            good_id: TokenRecord(good_id, good_hash, "alice", frozenset({TokenScope.READ}), None,
                                 1, False),
            old_id: TokenRecord(old_id, old_hash, "alice", frozenset({TokenScope.READ}), 1, 1,
                                False),
            gone_id: TokenRecord(gone_id, gone_hash, "alice", frozenset({TokenScope.READ}), None,
                                 1, True),
        },
    )
    auth = Authenticator(AuthConfig("admin", "admin-secret", max_failures=3, window_s=60))
    return auth, d, {"good": good, "expired": old, "revoked": gone}


World = tuple[Authenticator, AuthDirectory, dict[str, str]]


def test_basic_tokens_and_refusals(world: World) -> None:
    auth, d, tokens = world
    alice = auth.authenticate(_basic("alice", "alice-secret"), "a1", d)
    assert alice.username == "alice" and alice.groups == {"team"} and not alice.is_admin
    assert auth.authenticate(_basic("admin", "admin-secret"), "a1", d).is_admin
    by_token = auth.authenticate(f"Bearer {tokens['good']}", "a1", d)
    assert by_token.username == "alice" and by_token.cap is P.READ and by_token.via == "token"
    for bad in (f"Bearer {tokens['expired']}", f"Bearer {tokens['revoked']}", None, "Digest x"):
        with pytest.raises(AuthenticationError):
            auth.authenticate(bad, "a2", d)


def test_failed_logins_are_limited_per_user_and_per_address(world: World) -> None:
    auth, d, _ = world
    for address in ("x1", "x2", "x3"):
        with pytest.raises(AuthenticationError):
            auth.authenticate(_basic("alice", "wrong"), address, d)
    # alice is locked from everywhere, even with her right password
    with pytest.raises(TooManyAttemptsError):
        auth.authenticate(_basic("alice", "alice-secret"), "x9", d)
    # x1 guesses other names: locked per address after its own three failures
    for name in ("u1", "u2"):
        with pytest.raises(AuthenticationError):
            auth.authenticate(_basic(name, "p"), "x1", d)
    with pytest.raises(TooManyAttemptsError):
        auth.authenticate(_basic("admin", "admin-secret"), "x1", d)


def test_a_wrong_password_takes_as_long_for_a_missing_user() -> None:
    d = AuthDirectory(users={"alice": UserRecord("alice", hash_password("s3cret-pw"), False)})
    auth = Authenticator(AuthConfig("admin", "admin-secret", max_failures=1000))

    def timed(user: str, i: int) -> float:
        started = time.perf_counter()
        with pytest.raises(AuthenticationError) as info:
            auth.authenticate(_basic(user, "wrong"), f"t{i}", d)
        assert str(info.value) == "invalid username or password"
        return time.perf_counter() - started

    existing = statistics.median(timed("alice", i) for i in range(7))
    missing = statistics.median(timed("nobody", i) for i in range(7))
    assert 0.5 < existing / missing < 2.0


def test_the_quick_path_takes_only_remembered_logins_and_tokens(world: World) -> None:
    auth, d, tokens = world
    header = _basic("alice", "alice-secret")
    assert auth.quick(header, "q1", d) is None  # first login: argon2, in a worker thread
    auth.authenticate(header, "q1", d)
    found = auth.quick(header, "q1", d)
    assert found is not None and found.username == "alice"
    assert auth.quick(_basic("alice", "wrong"), "q1", d) is None
    assert auth.quick(f"Bearer {tokens['good']}", "q1", d) is not None
    assert auth.quick(f"Bearer {tokens['revoked']}", "q1", d) is None
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            auth.authenticate(_basic("nobody", "x"), "q2", d)
    assert auth.quick(header, "q2", d) is None  # a locked address goes the full way
