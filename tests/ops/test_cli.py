"""The contract scripts rely on, through a real `python -m ops` process: help, exit codes, JSON."""

from __future__ import annotations

import json

import pytest

COMMANDS = [
    ["rds", "snapshot"],
    ["rds", "restore"],
    ["aurora", "snapshot"],
    ["aurora", "restore"],
    ["ebs", "snapshot"],
    ["ebs", "restore"],
    ["cutover"],
    ["ami", "list"],
    ["ami", "promote"],
    ["ami", "prune"],
    ["stack", "deploy"],
    ["stack", "diff"],
    ["stack", "status"],
    ["stack", "delete"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_the_exit_codes(ops_cli, command):
    done = ops_cli(*command, "--help")

    assert done.code == 0
    assert "--dry-run" in done.out
    assert "--json" in done.out
    assert "3  refused" in done.out
    assert "4  timed out" in done.out


def test_the_installed_script_is_the_same_cli(ops_cli):
    from importlib.metadata import entry_points

    script = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert script["cloudblog-ops"] == "ops.__main__:main"


def test_a_missing_required_option_is_exit_2(ops_cli):
    done = ops_cli("aurora", "restore", "--snapshot", "s")

    assert done.code == 2
    assert "--new-cluster" in done.err


def test_success_prints_only_json_on_stdout_and_progress_on_stderr(ops_cli, source_cluster):
    done = ops_cli(
        "aurora", "restore", "--snapshot", "blog-prod-nightly", "--new-cluster", "drill", "--json"
    )

    assert done.code == 0, done.err
    result = json.loads(done.out)
    assert result["status"] == "ok"
    assert result["endpoint"].startswith("drill.cluster-")
    assert "DB cluster drill: available after" in done.err
    assert "instances of drill: available after" in done.err


def test_refusal_is_exit_3_with_json_saying_why(ops_cli, source_cluster):
    done = ops_cli(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "blog-prod",
        "--json",
    )

    assert done.code == 3
    assert json.loads(done.out) == {
        "status": "refused",
        "error": "DB cluster blog-prod already exists; pick a new --new-cluster",
        "calls": [],
    }


def test_dry_run_prints_the_calls_for_people_too(ops_cli, source_cluster, rds):
    done = ops_cli(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "drill",
        "--dry-run",
    )

    assert done.code == 0, done.err
    assert "dry run, would call: rds.restore_db_cluster_from_snapshot(" in done.err
    assert "dry run, would wait up to 5400s for DB cluster drill" in done.err
    assert "dry_run: True" in done.out
    assert [c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]] == [
        "blog-prod"
    ]


def test_aws_errors_are_exit_1(ops_cli, aws, monkeypatch):
    # A region with no endpoint configured answers nothing: point it at a closed port.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")

    done = ops_cli("rds", "snapshot", "--instance", "x", "--json")

    assert done.code == 1
    assert json.loads(done.out)["status"] == "aws-error"
