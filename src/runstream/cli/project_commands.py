"""``runstream run``: run an MLflow project (MLproject) under a new run."""

from __future__ import annotations

import argparse
from typing import Any

from runstream.cli.render import render_json
from runstream.config import Settings
from runstream.errors import ProjectError


def _key_values(pairs: list[str], option: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ProjectError(f"{option} {pair!r}: expected key=value")
        values[key] = value
    return values


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run a project; exit with the command's exit status (the run id first with --detach)."""
    from runstream.projects.launch import detach, run_project
    from runstream.projects.runner import RunRequest

    request = RunRequest(
        uri=args.uri,
        entry_point=args.entry_point,
        parameters=_key_values(args.param_list, "-P"),
        version=args.version,
        env_manager=args.env_manager,
        experiment_name=args.experiment_name,
        experiment_id=args.experiment_id,
        run_name=args.run_name,
        build_image=args.build_image,
        tags=_key_values(args.tag, "--tag"),
    )
    if args.detach:
        run_id = detach(request, settings)
        print(render_json({"run_id": run_id, "status": "RUNNING"}) if args.json else run_id)
        return 0
    outcome = run_project(request, settings)
    if args.json:
        print(render_json(
            {"run_id": outcome.run_id, "status": outcome.status, "exit_code": outcome.exit_code}
        ))
    else:
        print(f"run {outcome.run_id} {outcome.status} (exit {outcome.exit_code})")
    return outcome.exit_code


def add_commands(sub: Any) -> None:
    """Register ``run`` on the top-level parser (``mlflow run``'s options)."""
    run = sub.add_parser("run", help="run an MLflow project (MLproject) under a new run")
    run.add_argument("uri", help="project folder, git repository or URL (repo#sub/dir)")
    run.add_argument("-e", "--entry-point", default="main", help="entry point (default: main)")
    run.add_argument("-v", "--version", help="git commit, branch or tag")
    run.add_argument("-P", "--param-list", action="append", default=[], metavar="KEY=VALUE",
                     help="a parameter (repeatable)")
    run.add_argument("--env-manager", choices=["local", "virtualenv", "uv", "conda"],
                     help="environment manager (default: from the MLproject file)")
    experiment = run.add_mutually_exclusive_group()
    experiment.add_argument("--experiment-name")
    experiment.add_argument("--experiment-id")
    run.add_argument("--run-name")
    run.add_argument("--build-image", action="store_true",
                     help="build a docker image of the project (needs docker)")
    run.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE",
                     help="a tag of the run (repeatable)")
    run.add_argument("--detach", "--async", dest="detach", action="store_true",
                     help="print the run id and return; the command keeps running")
    run.add_argument("--json", action="store_true")
    run.set_defaults(handler=cmd_run)
