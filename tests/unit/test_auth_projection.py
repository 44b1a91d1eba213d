"""auth.changed events land in the auth_* tables and in the audit, without secrets."""

from __future__ import annotations

from projection_support import MemoryLake, deliver

from runstream.auth import changes
from runstream.events import Permission, PrincipalType, ResourceType, TokenScope


def test_each_action_lands_in_its_table_and_in_the_audit() -> None:
    lake = MemoryLake()
    text, issued = changes.token_issued("admin", "alice", [TokenScope.READ], None)
    token_id = issued.body.token_id
    result = lake.feed(
        deliver(
            changes.user_set("admin", "alice", password="correct horse", is_admin=False),
            changes.membership("admin", "alice", "team-a", member=True),
            issued,
            changes.permission_set(
                "admin", ResourceType.EXPERIMENT, "7", PrincipalType.GROUP, "team-a",
                Permission.EDIT,
            ),
            changes.token_revoked("admin", token_id),
        )
    )
    assert result.rejections == []
    user = lake.row("auth_users", "alice")
    assert user is not None and user[1].startswith("$argon2id$") and user[2] is False
    assert lake.row("auth_group_members", "team-a", "alice") is not None
    token = lake.row("auth_tokens", token_id)
    assert token is not None and token[2:4] == ("alice", "read")
    assert text.split("_")[-1] not in str(token)  # only the hash is stored
    assert lake.row("auth_token_revocations", token_id) is not None
    grant = lake.row("auth_permissions", "experiment", "7", "group", "team-a")
    assert grant is not None and grant[4] == "EDIT"
    audit = lake.appends["auth_audit"]
    assert [row[3] for row in audit] == [
        "user_set", "member_added", "token_issued", "permission_set", "token_revoked",
    ]
    assert all("$argon2" not in str(row) for row in audit)


def test_deletes_and_incomplete_events() -> None:
    lake = MemoryLake()
    grant = changes.permission_set(
        "admin", ResourceType.REGISTERED_MODEL, "m", PrincipalType.USER, "bob", Permission.READ
    )
    revoke = changes.permission_set(
        "admin", ResourceType.REGISTERED_MODEL, "m", PrincipalType.USER, "bob", None
    )
    bad = changes.user_set("admin", "carol", password=None, is_admin=False)
    bad = bad.model_copy(update={"body": bad.body.model_copy(update={"is_admin": None})})
    result = lake.feed(deliver(grant, revoke, bad))
    assert lake.row("auth_permissions", "registered_model", "m", "user", "bob") is None
    assert [r.reason for r in result.rejections] == ["malformed"]
