"""Fixtures for policy-export: a seeded emulator, the function's environment, and an APIG-style caller."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from localdev.emulator import Emulator
from tests.conftest import EMULATOR_TOKEN

EXPORT_TOKEN = "policy-export-test-token-0123456789"
BIG_NS = "demo"
BIG_REPOS = 300
SMALL_NS = "ops"
SMALL_REPOS = 40
TARGET_REGION = "ap-southeast-1"
OTHER_REGION = "ap-southeast-3"
INJECTION = '=HYPERLINK("http://evil")'

# Everything the function reads: cleared so that the developer's environment cannot leak into a test.
ENV_VARS = (
    "SWR_REGION",
    "SWR_ENDPOINT",
    "IAM_ENDPOINT",
    "SWR_AUTH_MODE",
    "SWR_AUTH_TOKEN",
    "IAM_USERNAME",
    "IAM_PASSWORD",
    "IAM_DOMAIN",
    "IAM_PROJECT",
    "CLOUD_SDK_AK",
    "CLOUD_SDK_SK",
    "CLOUD_SDK_SECURITY_TOKEN",
    "CLOUD_SDK_PROJECT_ID",
    "EXPORT_TOKEN",
    "EXPORT_ALLOW_UNAUTHENTICATED",
    "EXPORT_CONCURRENCY",
    "EXPORT_MAX_BYTES",
    "EXPORT_REPO_PAGE_SIZE",
    "SYNC_RULES",
    "SYNC_RULES_FILE",
    "HTTP_MAX_ATTEMPTS",
    "HTTP_BACKOFF_BASE",
    "LOG_LEVEL",
)


@dataclass
class Seeded:
    """What was seeded, and the rows an export of it must produce (without ids and times)."""

    rows: dict[str, list[tuple[str, str, str, str, bool, bool]]] = field(default_factory=dict)
    repos: dict[str, list[str]] = field(default_factory=dict)

    def expected(self, namespace: str) -> list[tuple[str, str, str, str, bool, bool]]:
        return sorted(self.rows.get(namespace, []))


def _policy(
    emulator: Emulator,
    seeded: Seeded,
    ns: str,
    repo: str,
    region: str,
    remote_ns: str,
    override: bool,
    auto: bool = True,
) -> None:
    emulator.state.add_sync_repo(ns, repo, region, remote_ns, sync_auto=auto, override=override)
    seeded.rows.setdefault(ns, []).append((ns, repo, region, remote_ns, auto, override))


@pytest.fixture
def seeded(emulator: Emulator) -> Seeded:
    """``demo``: 300 repositories (+ ``team/api``, ``team/web``), about a third with policies; ``ops``: 40
    repositories with two policies each; one policy whose remote namespace is a spreadsheet formula."""
    state = emulator.state
    out = Seeded()
    for i in range(BIG_REPOS):
        name = f"app-{i:03d}"
        state.add_repository(BIG_NS, name)
        out.repos.setdefault(BIG_NS, []).append(name)
        if i % 3 == 0:
            _policy(emulator, out, BIG_NS, name, TARGET_REGION, "demo-dr", override=i % 2 == 0)
        if i % 10 == 0:
            _policy(emulator, out, BIG_NS, name, OTHER_REGION, "demo-eu", override=False, auto=i % 20 == 0)
    for name in ("team/api", "team/web"):
        state.add_repository(BIG_NS, name)
        out.repos[BIG_NS].append(name)
    _policy(emulator, out, BIG_NS, "team/api", OTHER_REGION, INJECTION, override=False)
    for i in range(SMALL_REPOS):
        name = f"svc-{i:02d}"
        state.add_repository(SMALL_NS, name)
        out.repos.setdefault(SMALL_NS, []).append(name)
        _policy(emulator, out, SMALL_NS, name, TARGET_REGION, "ops-dr", override=False)
        _policy(emulator, out, SMALL_NS, name, OTHER_REGION, "ops-eu", override=True)
    return out


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return {k.lower(): v for k, v in self.headers.items()}.get(name.lower())


Caller = Callable[..., Reply]


@pytest.fixture
def export_env(monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> Iterator[pytest.MonkeyPatch]:
    """The function's environment against the emulator: token auth to SWR, EXPORT_TOKEN set, no backoff."""
    from functions.policy_export import index

    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SWR_ENDPOINT", emulator.url)
    monkeypatch.setenv("SWR_REGION", "cn-north-4")
    monkeypatch.setenv("SWR_AUTH_TOKEN", EMULATOR_TOKEN)
    monkeypatch.setenv("EXPORT_TOKEN", EXPORT_TOKEN)
    monkeypatch.setenv("HTTP_BACKOFF_BASE", "0")
    monkeypatch.setenv("HTTP_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    index.APP.reset()
    yield monkeypatch
    index.APP.reset()


def apig_event(
    query: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    token: str | None = EXPORT_TOKEN,
) -> dict[str, Any]:
    hdrs = {"host": "export.example.com", "user-agent": "pytest"}
    if token is not None:
        hdrs["authorization"] = f"Bearer {token}"
    hdrs.update({k.lower(): v for k, v in (headers or {}).items()})
    return {
        "httpMethod": method,
        "path": "/policy-export",
        "headers": hdrs,
        "queryStringParameters": query or {},
        "pathParameters": {},
        "requestContext": {"apiId": "test", "requestId": "req-1", "stage": "RELEASE"},
        "body": "",
        "isBase64Encoded": False,
    }


@pytest.fixture
def call(export_env: pytest.MonkeyPatch) -> Caller:
    """Invoke the FunctionGraph handler with an APIG event; ``query`` values may be lists (repeated)."""
    from functions.policy_export import index

    def invoke(
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        token: str | None = EXPORT_TOKEN,
    ) -> Reply:
        result = index.handler(apig_event(query, headers, method, token), None)
        assert set(result) == {"statusCode", "headers", "body", "isBase64Encoded"}
        assert isinstance(result["body"], str) and result["isBase64Encoded"] is False
        return Reply(result["statusCode"], result["headers"], result["body"])

    return invoke


def rows_of(policies: list[dict[str, Any]]) -> list[tuple[str, str, str, str, bool, bool]]:
    return sorted(
        (
            p["namespace"],
            p["repository"],
            p["remote_region_id"],
            p["remote_namespace"],
            p["sync_auto"],
            p["override"],
        )
        for p in policies
    )


def logged_requests(emulator: Emulator) -> list[dict[str, Any]]:
    log = emulator.state.requests
    return list(log() if callable(log) else log)


def sync_repo_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r for r in logged_requests(emulator) if r["method"] == "GET" and r["path"].endswith("/sync_repo")]
