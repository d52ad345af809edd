"""``swr-sync export``: same code from a terminal; data on stdout, everything else on stderr."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest

from functions.policy_export import cli
from functions.policy_export.model import COLUMNS
from localdev.cli import main as swr_sync
from tests.policy_export.conftest import BIG_NS, SMALL_NS, Seeded, rows_of


@pytest.fixture
def cli_env(export_env: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    from shared.logs import logs

    export_env.delenv("EXPORT_TOKEN")  # the CLI needs no bearer token
    yield export_env
    logs.reset()  # the CLI pointed logging at a captured stderr that is about to close


def test_csv_to_stdout(cli_env, seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    code = swr_sync(["export", "--namespace", BIG_NS])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == list(COLUMNS)
    assert len(rows) - 1 == len(seeded.expected(BIG_NS))
    assert "\r" not in err and "[" not in err, "no progress bar when stderr is not a terminal"
    assert f"{len(seeded.expected(BIG_NS))} policies from 302 repositories" in err


def test_json_with_filters(cli_env, seeded: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        ["-n", SMALL_NS, "-r", "svc-0*", "--remote-region", "ap-southeast-1", "--format", "json", "-q"]
    )
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    data = json.loads(out)
    assert rows_of(data["policies"]) == [
        r for r in seeded.expected(SMALL_NS) if r[1] < "svc-10" and r[2] == "ap-southeast-1"
    ]
    assert "next" not in data and data["coverage_complete"] is True


def test_output_file_picks_the_format(cli_env, seeded: Seeded, tmp_path, capsys) -> None:
    target = tmp_path / "policies.ndjson"
    assert cli.main(["-n", SMALL_NS, "-o", str(target), "-q"]) == 0
    assert capsys.readouterr().out == ""
    lines = [json.loads(x) for x in target.read_text().splitlines()]
    assert lines[-1]["_kind"] == "meta" and lines[-1]["total"] == 80


def test_progress_bar_goes_to_stderr(cli_env, seeded: Seeded, capsys) -> None:
    assert cli.main(["-n", SMALL_NS, "--progress", "-q"]) == 0
    out, err = capsys.readouterr()
    assert "40/40 repositories" in err and "\r" in err
    assert "repositories" not in out.splitlines()[0]


def test_partial_failure_exits_3_but_writes(cli_env, seeded: Seeded, emulator, capsys) -> None:
    emulator.state.add_fault(r"/repos/svc-03/sync_repo$", method="GET", status=500, times=None)
    code = cli.main(["-n", SMALL_NS, "-f", "json"])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_PARTIAL
    assert json.loads(out)["errors"][0]["repository"] == "svc-03"
    assert "ops/svc-03: HTTP 500" in err


def test_namespace_failure_exits_1(cli_env, seeded: Seeded, capsys) -> None:
    code = cli.main(["-n", "missing-namespace"])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_FAILED and out == ""
    assert "missing-namespace" in err and "not found" in err


def test_usage_and_configuration_errors_exit_2(cli_env, seeded: Seeded, capsys) -> None:
    assert cli.main([]) == 2
    assert cli.main(["-n", "Bad_NS"]) == 2
    assert "--namespace" in capsys.readouterr().err
    assert cli.main(["-n", SMALL_NS, "--compare", "rules"]) == 2
    assert "SYNC_RULES" in capsys.readouterr().err
    cli_env.delenv("SWR_REGION")
    cli_env.delenv("SWR_ENDPOINT")
    assert cli.main(["-n", SMALL_NS]) == 2
    assert "SWR_REGION" in capsys.readouterr().err


def test_drift_and_fail_on_drift(cli_env, seeded: Seeded, capsys) -> None:
    rules = [
        {
            "namespace": SMALL_NS,
            "repository": "svc-0*",
            "targets": [{"region": "ap-southeast-1", "namespace": "ops-dr"}],
        }
    ]
    cli_env.setenv("SYNC_RULES", json.dumps(rules))
    assert cli.main(["-n", SMALL_NS, "-r", "svc-0*", "--compare", "rules", "-f", "csv"]) == 0
    out, err = capsys.readouterr()
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0][0] == "drift" and {r[0] for r in rows[1:]} == {"extra"}  # the ops-eu policies
    assert "10 extra" in err
    assert (
        cli.main(["-n", SMALL_NS, "-r", "svc-0*", "--compare", "rules", "--fail-on-drift", "-q"])
        == cli.EXIT_DRIFT
    )


def test_stdout_carries_only_data_even_when_verbose(cli_env, seeded: Seeded, capsys) -> None:
    assert cli.main(["-n", SMALL_NS, "-f", "json", "-v"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)  # no log line mixed in
    assert '"message":"policies fetched"' in err
