"""The Airflow provider's pure half: connection settings, reads, the run's result line."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runstream.airflow import api, get_provider_info


def test_connection_settings() -> None:
    s = api.settings_from("tracking.example", None, "tok", '{"env": {"A": 1}}')
    assert s.tracking_uri == "http://tracking.example:5000"
    assert s.command_env()["RUNSTREAM_API_TOKEN"] == "tok"
    assert s.command_env()["A"] == "1" and s.headers() == {"Authorization": "Bearer tok"}
    assert api.settings_from("https://t.example/", None, None, None).tracking_uri == (
        "https://t.example"
    )
    assert api.settings_from("http://h", 8080, None, {}).tracking_uri == "http://h:8080"
    extra = {"tracking_uri": "http://x:1", "runstream_bin": "/b"}
    given = api.settings_from(None, None, None, extra)
    assert (given.tracking_uri, given.runstream_bin, given.token) == ("http://x:1", "/b", "")
    with pytest.raises(ValueError, match="needs a host"):
        api.settings_from(None, None, None, None)


def test_projects_run_with_the_runstream_beside_this_interpreter() -> None:
    # pip install 'runstream[airflow]' puts it beside Airflow's python; a task's PATH
    # need not include that folder.
    beside = Path(sys.executable).parent / "runstream"
    assert beside.is_file()
    assert api.settings_from("h", None, None, None).runstream_bin == str(beside)
    assert api.settings_from("h", None, None, {"runstream_bin": "/b"}).runstream_bin == "/b"


def test_versions_by_stage_and_alias() -> None:
    assert api.version_request("m", "Staging", None)[1] == {"name": "m", "stages": "Staging"}
    assert api.version_request("m", None, "champion")[0].endswith("registered-models/alias")
    body = {"model_versions": [{"version": "2", "current_stage": "Staging"},
                               {"version": "3", "current_stage": "Production"}]}
    assert api.parse_version(200, body, "staging") == 2
    assert api.parse_version(200, {"model_versions": []}, "Staging") is None
    assert api.parse_version(200, {"model_version": {"version": "4"}}, None) == 4
    assert api.parse_version(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"}, None) is None


def test_the_result_is_the_last_json_object_of_the_output() -> None:
    lines = ['{"run_id": "not it"}\n', "training...\n", "{\n", '  "run_id": "r1",\n',
             '  "status": "FAILED",\n', '  "exit_code": 3\n', "}\n"]
    assert api.result_line(lines) == {"run_id": "r1", "status": "FAILED", "exit_code": 3}
    assert api.result_line(['{"run_id": "r", "status": "FINISHED", "exit_code": 0}']) == {
        "run_id": "r", "status": "FINISHED", "exit_code": 0}
    assert api.result_line(["runstream: bad parameter\n"]) is None


def test_dag_run_filter_quotes_values() -> None:
    assert api.dag_run_filter("d", "manual__x'y") == (
        "tags.`airflow.dag_id` = 'd' AND tags.`airflow.run_id` = 'manual__x\\'y'"
    )


def test_provider_info_names_the_connection_type() -> None:
    info = get_provider_info()
    assert info["package-name"] == "runstream"
    assert info["connection-types"] == [{
        "connection-type": "runstream",
        "hook-class-name": "runstream.airflow.hooks.RunstreamHook",
        "hook-name": "Runstream",
    }]
