"""``runstream sql`` and ``runs search`` read the lake directly and render rows."""

from __future__ import annotations

import argparse
import json

import pytest
from test_query_helpers import fill_lake, per_test_settings, rid

from runstream.cli.query_commands import add_commands
from runstream.config import Settings
from runstream.errors import SqlRejectedError


@pytest.fixture(scope="module")
def settings(stack_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = per_test_settings(stack_settings, tmp_path_factory.mktemp("query-cli"))
    fill_lake(s, history_points=20)
    return s


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="runstream")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    code: int = args.handler(args, settings)
    return code


def test_sql_prints_a_table_json_or_csv(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    query = "SELECT run_name, status FROM runs WHERE experiment_id = '1' ORDER BY run_name LIMIT 2"
    assert run(settings, "sql", query) == 0
    out = capsys.readouterr().out
    assert (
        out.splitlines()[0].split() == ["run_name", "status"] and "alpha" in out and "2 rows" in out
    )
    run(settings, "sql", query, "--json")
    assert json.loads(capsys.readouterr().out)["rows"] == [
        ["alpha", "FINISHED"],
        ["beta", "FINISHED"],
    ]
    run(settings, "sql", query, "--csv")
    assert capsys.readouterr().out.splitlines() == [
        "run_name,status",
        "alpha,FINISHED",
        "beta,FINISHED",
    ]


def test_sql_refuses_writes(settings: Settings) -> None:
    with pytest.raises(SqlRejectedError):
        run(settings, "sql", "DELETE FROM runs")


def test_runs_search(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(
        settings,
        "runs",
        "search",
        "--experiment",
        "vision",
        "--filter",
        "metrics.acc > 0.8",
        "--order-by",
        "metrics.acc DESC",
        "--param",
        "lr",
        "--metric",
        "acc",
    )
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-2:] == ["params.lr", "metrics.acc"]
    assert [line.split()[0] for line in lines[2:]] == [rid(1), rid(2)]
    run(settings, "runs", "search", "--experiment", "vision", "--max-results", "1", "--json")
    body = json.loads(capsys.readouterr().out)
    assert len(body["runs"]) == 1 and body["next_page_token"]
