"""CLI commands of the query side: ``serve``, ``sql``, ``runs search``.

Thin, as every command: parse, call a reader, render. ``sql`` and ``runs search``
read the lake directly (read-only, locked down exactly as the service is), so
they work without a running service; errors reach the CLI's one error handler.
Register with :func:`add_commands` on the top-level subparsers.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

import orjson

from runstream.cli.render import render_csv, render_json, render_table
from runstream.config import Settings
from runstream.events.floats import float_to_wire
from runstream.query.http.schemas.runs import RUNS_PAGE, RunsPage
from runstream.query.read.experiments import get_experiment_by_name
from runstream.query.read.runs import Columns, search_runs
from runstream.query.read.session import LakeAccess
from runstream.query.read.sql import run_sql
from runstream.query.search.planner import MAX_RESULTS_LIMIT, plan_search


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP server (queries, MLflow writes, or both) with uvicorn until interrupted."""
    import uvicorn

    from runstream.server import build_app

    host = args.host or settings.host
    port = args.port or settings.ports.api
    uvicorn.run(
        build_app(settings, args.role),
        host=host,
        port=port,
        log_level=args.log_level,
        access_log=False,
    )
    return 0


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    """Run one read-only statement on the lake and print the rows."""
    lake = LakeAccess(settings)
    try:
        max_rows = min(args.max_rows or settings.sql_max_rows, settings.sql_max_rows)
        with lake.session(args.timeout or settings.sql_timeout_s) as session:
            result = run_sql(session, args.statement, max_rows=max_rows)
    finally:
        lake.close()
    if args.json:
        print(
            render_json(
                {"columns": result.columns, "rows": result.rows, "truncated": result.truncated}
            )
        )
    elif args.csv:
        print(render_csv(result.columns, result.rows), end="")
    else:
        print(render_table(result.columns, result.rows))
        more = " (truncated: raise --max-rows)" if result.truncated else ""
        print(f"({len(result.rows)} rows, {result.elapsed_ms:.1f} ms){more}")
    return 0


def _when(ms: int | None) -> str:
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _metric(value: float | None) -> Any:
    return None if value is None else float_to_wire(value)


def cmd_runs_search(args: argparse.Namespace, settings: Settings) -> int:
    """Search runs of one or more experiments with MLflow's filter grammar."""
    lake = LakeAccess(settings)
    try:
        with lake.session() as session:
            ids = [get_experiment_by_name(session, n).row.experiment_id for n in args.experiment]
            search = plan_search(
                ids + list(args.experiment_id),
                args.filter,
                args.order_by,
                args.view,
                args.max_results,
            )
            columns = Columns(
                params=None if args.json else args.param,
                metrics=None if args.json else args.metric,
                tags=None if args.json else [],
            )
            page = search_runs(session, search, args.page_token, columns)
            snapshot = session.snapshot_id
    finally:
        lake.close()
    if args.json:
        print(render_json(orjson.loads(RUNS_PAGE.json(RunsPage.read(page, snapshot)))))
        return 0
    headers = ["run_id", "name", "status", "start (UTC)"]
    headers += [f"params.{k}" for k in args.param] + [f"metrics.{k}" for k in args.metric]
    rows = []
    for run in page.items:
        i = run.info
        row: list[Any] = [i.run_id, i.run_name, i.status, _when(i.start_time)]
        row += [run.params.get(k) for k in args.param]
        row += [_metric(run.metrics[k].value) if k in run.metrics else None for k in args.metric]
        rows.append(row)
    print(render_table(headers, rows))
    if page.next_page_token:
        print(f"more runs: --page-token {page.next_page_token}")
    return 0


def add_commands(sub: Any) -> None:
    """Register ``serve``, ``sql`` and ``runs search`` on the top-level subparsers."""
    serve = sub.add_parser("serve", help="run the read-only query service (API, MLflow REST, UI)")
    serve.add_argument("--host", help="interface to bind (default: RUNSTREAM_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default: RUNSTREAM_PORT_API, 5000)")
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    serve.add_argument(
        "--role",
        default="all",
        choices=["read", "write", "all"],
        help="read: queries only; write: the MLflow write gateway only; all (default): both",
    )
    serve.set_defaults(handler=cmd_serve)

    sql = sub.add_parser("sql", help="run one read-only SQL statement on the lake")
    sql.add_argument("statement", help='e.g. "SELECT run_name, status FROM runs LIMIT 10"')
    fmt = sql.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    sql.add_argument("--max-rows", type=int, help="row limit (capped by RUNSTREAM_SQL_MAX_ROWS)")
    sql.add_argument("--timeout", type=float, help="seconds (capped by RUNSTREAM_SQL_TIMEOUT_S)")
    sql.set_defaults(handler=cmd_sql)

    runs = sub.add_parser("runs", help="runs: search")
    runs_sub = runs.add_subparsers(dest="runs_command", required=True)
    search = runs_sub.add_parser("search", help="search runs with MLflow's filter grammar")
    search.add_argument(
        "--experiment",
        action="append",
        default=[],
        metavar="NAME",
        help="experiment name (repeatable)",
    )
    search.add_argument("--experiment-id", action="append", default=[], metavar="ID")
    search.add_argument(
        "--filter", default="", help="e.g. \"metrics.acc > 0.9 AND params.lr = '0.1'\""
    )
    search.add_argument(
        "--order-by",
        action="append",
        default=[],
        metavar="CLAUSE",
        help='e.g. "metrics.acc DESC" (repeatable)',
    )
    search.add_argument(
        "--max-results", type=int, default=100, help=f"page size, 1..{MAX_RESULTS_LIMIT}"
    )
    search.add_argument("--page-token", help="continue a previous search")
    search.add_argument(
        "--view", default="ACTIVE_ONLY", choices=["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]
    )
    search.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY",
        help="show this param as a column (repeatable)",
    )
    search.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="KEY",
        help="show this metric's latest value as a column (repeatable)",
    )
    search.add_argument("--json", action="store_true", help="print the runs as JSON")
    search.set_defaults(handler=cmd_runs_search)


__all__ = ["add_commands", "cmd_runs_search", "cmd_serve", "cmd_sql"]
