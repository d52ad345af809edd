"""The sample events in events/policy-export/ run through ``swr-sync invoke``'s code path."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from localdev.invoke import invoke
from tests.policy_export.conftest import Seeded

EVENTS = Path(__file__).resolve().parents[2] / "events" / "policy-export"


def _load(name: str) -> dict:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def _token(event: dict) -> str:
    headers = {k.lower(): v for k, v in event["headers"].items()}
    return headers["authorization"].removeprefix("Bearer ")


@pytest.fixture
def env_for(export_env):
    from functions.policy_export import index

    def apply(event: dict) -> None:
        export_env.setenv("EXPORT_TOKEN", _token(event))
        index.APP.reset()

    return apply


def test_apig_get(env_for, seeded: Seeded) -> None:
    event = _load("apig-get.json")
    env_for(event)
    result = invoke("policy-export", event)
    assert result["statusCode"] == 200
    data = json.loads(result["body"])
    assert {p["repository"] for p in data["policies"]} == {"team/api"}
    assert result["headers"]["X-Correlation-Id"] == "policy-export-0001"


def test_apig_get_csv(env_for, seeded: Seeded) -> None:
    event = _load("apig-get-csv.json")
    env_for(event)
    result = invoke("policy-export", event)
    assert result["statusCode"] == 200
    rows = list(csv.reader(io.StringIO(result["body"], newline="")))
    assert len(rows) > 1 and {r[2] for r in rows[1:]} == {"ap-southeast-1"}


def test_openfaas_get(env_for, seeded: Seeded) -> None:
    event = _load("openfaas-get.json")
    env_for(event)
    result = invoke("policy-export", event)
    assert result["statusCode"] == 200
    lines = [json.loads(x) for x in result["body"].splitlines()]
    assert lines[-1]["_kind"] == "meta"
    assert {p["repository"] for p in lines[:-1]} <= {f"app-00{i}" for i in range(10)}


def test_events_are_well_formed() -> None:
    for name in ("apig-get.json", "apig-get-csv.json"):
        event = _load(name)
        assert event["httpMethod"] == "GET" and isinstance(event["queryStringParameters"], dict)
        assert all(k == k.lower() for k in event["headers"])
        assert event["headers"]["authorization"].startswith("Bearer ")
    spec = _load("openfaas-get.json")
    assert set(spec) == {"method", "path", "headers", "query", "body"}
