"""CLI commands of access control: ``users``, ``tokens``, ``permissions``, ``whoami``.

Thin, as every command: each one is one call to the running service's
``/api/v1/auth`` API (at ``RUNSTREAM_TRACKING_URI``, or the local stack's
address), with the caller's credentials: ``RUNSTREAM_TOKEN`` (a service token),
else ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD`` (as MLflow's
client), else ``RUNSTREAM_API_TOKEN``. Passwords are read from stdin
(``--password-stdin``) or prompted, never taken from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import Any

import httpx

from runstream.cli.render import render_json, render_table
from runstream.config import Settings
from runstream.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    ServiceError,
    ValidationError,
)

_TIMEOUT_S = 30.0


def _auth(settings: Settings) -> httpx.Auth | dict[str, str]:
    if settings.token:
        return {"Authorization": f"Bearer {settings.token}"}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME")
    if user:
        return httpx.BasicAuth(user, os.environ.get("MLFLOW_TRACKING_PASSWORD", ""))
    if settings.api_token:
        return {"Authorization": f"Bearer {settings.api_token}"}
    return {}


def call(settings: Settings, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """One call to ``/api/v1/auth``; an error answer becomes the matching Runstream error."""
    creds = _auth(settings)
    headers = creds if isinstance(creds, dict) else {}
    auth = creds if isinstance(creds, httpx.Auth) else None
    url = f"{settings.api_url}/api/v1/auth{path}"
    try:
        resp = httpx.request(method, url, headers=headers, auth=auth, timeout=_TIMEOUT_S,
                             **kwargs)
    except httpx.HTTPError as exc:
        raise ServiceError(f"cannot reach the query service at {settings.api_url}: {exc}") from exc
    if resp.status_code < 400:
        body: dict[str, Any] = resp.json()
        return body
    message = resp.json().get("error", {}).get("message", resp.text) if resp.content else ""
    errors: dict[int, type[Exception]] = {
        400: ValidationError, 401: AuthenticationError, 403: PermissionDeniedError,
        404: NotFoundError,
    }
    raise errors.get(resp.status_code, ServiceError)(f"{resp.status_code}: {message}")


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass("password: ")


def _show(args: argparse.Namespace, data: Any, headers: list[str], rows: list[list[Any]]) -> int:
    print(render_json(data) if args.json else render_table(headers, rows))
    return 0


def cmd_whoami(args: argparse.Namespace, settings: Settings) -> int:
    """Print who the server thinks you are."""
    me = call(settings, "GET", "/whoami")
    return _show(args, me, ["username", "groups", "admin", "via"],
                 [[me["username"], ",".join(me["groups"]), me["is_admin"], me["via"]]])


def cmd_users(args: argparse.Namespace, settings: Settings) -> int:
    """``users list|create|delete|set-admin|passwd|add-to-group|remove-from-group``."""
    action = args.action
    if action == "list":
        users = call(settings, "GET", "/users")["users"]
        rows = [[u["username"], u["is_admin"], ",".join(u["groups"])] for u in users]
        return _show(args, users, ["username", "admin", "groups"], rows)
    if action == "create":
        body = {"username": args.name, "password": _password(args), "is_admin": args.admin}
        out = call(settings, "POST", "/users", json=body)
    elif action == "delete":
        out = call(settings, "DELETE", f"/users/{args.name}")
    elif action == "set-admin":
        out = call(settings, "PATCH", f"/users/{args.name}", json={"is_admin": args.admin})
    elif action == "passwd":
        out = call(settings, "PATCH", f"/users/{args.name}", json={"password": _password(args)})
    else:
        method = "PUT" if action == "add-to-group" else "DELETE"
        out = call(settings, method, f"/groups/{args.group}/members/{args.name}")
    print(render_json(out) if args.json else f"{action} {args.name}: done")
    return 0


def cmd_tokens(args: argparse.Namespace, settings: Settings) -> int:
    """``tokens issue|list|revoke``."""
    if args.action == "issue":
        body = {"username": args.user, "scopes": args.scope or ["read"],
                "expires_in_s": args.expires_in}
        out = call(settings, "POST", "/tokens", json=body)
        print(render_json(out) if args.json else out["token"])
        return 0
    if args.action == "revoke":
        out = call(settings, "DELETE", f"/tokens/{args.token_id}")
        print(render_json(out) if args.json else f"revoked {args.token_id}")
        return 0
    tokens = call(settings, "GET", "/tokens")["tokens"]
    rows = [[t["token_id"], t["username"], ",".join(t["scopes"]), t["expires_at"] or "-",
             "revoked" if t["revoked"] else "active"] for t in tokens]
    return _show(args, tokens, ["token_id", "user", "scopes", "expires_at", "state"], rows)


def cmd_permissions(args: argparse.Namespace, settings: Settings) -> int:
    """``permissions grant|revoke|list``."""
    kind = "experiment" if args.resource_type == "experiment" else "registered_model"
    if args.action == "list":
        params = {"resource_type": kind, "resource_id": args.resource_id}
        out = call(settings, "GET", "/permissions", params=params)
        rows = [[g["principal_type"], g["principal"], g["permission"]] for g in out["grants"]]
        return _show(args, out, ["type", "principal", "permission"], rows)
    principal_type = "group" if args.group else "user"
    principal = args.group or args.user
    if not principal:
        raise ValidationError("name a --user or a --group")
    if args.action == "grant":
        body = {"resource_type": kind, "resource_id": args.resource_id,
                "principal_type": principal_type, "principal": principal,
                "permission": args.permission}
        out = call(settings, "PUT", "/permissions", json=body)
    else:
        params = {"resource_type": kind, "resource_id": args.resource_id,
                  "principal_type": principal_type, "principal": principal}
        out = call(settings, "DELETE", "/permissions", params=params)
    print(render_json(out) if args.json else f"{args.action} {principal}: done")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``users``, ``tokens``, ``permissions`` and ``whoami``."""
    who = sub.add_parser("whoami", help="who the server thinks you are")
    who.add_argument("--json", action="store_true")
    who.set_defaults(handler=cmd_whoami)

    users = sub.add_parser("users", help="manage users and groups (admins)")
    users.add_argument("action", choices=["list", "create", "delete", "set-admin", "passwd",
                                          "add-to-group", "remove-from-group"])
    users.add_argument("name", nargs="?", default="")
    users.add_argument("group", nargs="?", default="", help="for add-/remove-from-group")
    users.add_argument("--admin", action=argparse.BooleanOptionalAction, default=False)
    users.add_argument("--password-stdin", action="store_true")
    users.add_argument("--json", action="store_true")
    users.set_defaults(handler=cmd_users)

    tokens = sub.add_parser("tokens", help="issue, list and revoke service tokens")
    tokens.add_argument("action", choices=["issue", "list", "revoke"])
    tokens.add_argument("token_id", nargs="?", default="")
    tokens.add_argument("--user", help="issue for another user (admins)")
    tokens.add_argument("--scope", action="append", choices=["read", "write", "manage"])
    tokens.add_argument("--expires-in", type=int, help="seconds")
    tokens.add_argument("--json", action="store_true")
    tokens.set_defaults(handler=cmd_tokens)

    perms = sub.add_parser("permissions", help="grant, revoke and list permissions")
    perms.add_argument("action", choices=["grant", "revoke", "list"])
    perms.add_argument("resource_type", choices=["experiment", "model"])
    perms.add_argument("resource_id")
    perms.add_argument("permission", nargs="?", default="READ",
                       choices=["NO_PERMISSIONS", "READ", "EDIT", "MANAGE"])
    who_to = perms.add_mutually_exclusive_group()
    who_to.add_argument("--user")
    who_to.add_argument("--group")
    perms.add_argument("--json", action="store_true")
    perms.set_defaults(handler=cmd_permissions)


__all__ = ["add_commands", "call"]
