"""job-monitor's GET: the health page and its JSON, access by bearer or signed link, escaping, no SWR call."""

from __future__ import annotations

import io
import json
import time
from html.parser import HTMLParser

import pytest

from functions.job_monitor.health import links
from localdev.local_stack import DEMO_MONITOR_TOKEN, LocalStack
from shared.logs import logs
from tests.health.conftest import HOSTILE_REASON, HOSTILE_REPO, fetch

BEARER = {"Authorization": f"Bearer {DEMO_MONITOR_TOKEN}"}


def swr_requests(stack: LocalStack) -> int:
    return len(stack.emulator.state.requests())


def test_json_has_every_state_and_the_proven_push(health_stack: LocalStack) -> None:
    before = swr_requests(health_stack)
    status, _, body = fetch(f"{health_stack.gateway.url}/job-monitor?format=json", BEARER)
    assert status == 200, body
    data = json.loads(body)
    states = {(c["namespace"], c["repository"], c["region"]): c["state"] for c in data["cells"]}
    assert states[("demo", "team/app", "ap-southeast-1")] == "verified"  # the walkthrough's real push
    assert states[("team", "api", "ap-southeast-1")] == "failed"
    assert states[("team", "api", "ap-southeast-3")] == "missing"
    assert states[("team", "web", "ap-southeast-1")] == "pending"
    assert states[("team", "web", "ap-southeast-3")] == "syncing"
    assert states[("team", "batch", "ap-southeast-1")] == "stuck"
    assert data["counts"]["failed"] == 2 and data["runs"], "the walkthrough's monitor run is listed"
    assert swr_requests(health_stack) == before, "the page reads the stored state only"


def test_filters_select_cells(health_stack: LocalStack) -> None:
    url = f"{health_stack.gateway.url}/job-monitor?format=json&state=failed&region=ap-southeast-1"
    data = json.loads(fetch(url, BEARER)[2])
    assert {c["repository"] for c in data["cells"]} == {"api", HOSTILE_REPO}
    status, _, body = fetch(f"{health_stack.gateway.url}/job-monitor?format=json&state=bogus", BEARER)
    assert status == 400 and "state must be one of" in body


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.tags: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_script = tag == "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_the_page_is_self_contained_and_escapes_every_value(health_stack: LocalStack) -> None:
    status, headers, body = fetch(f"{health_stack.gateway.url}/health", BEARER)
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in body and HOSTILE_REPO not in body
    assert "&lt;img src=x onerror=" in body and HOSTILE_REASON not in body
    parser = _Text()
    parser.feed(body)
    assert len(parser.scripts) == 1 and "pwned" not in parser.scripts[0]  # only the page's own script
    assert "img" not in parser.tags
    assert not any(f'{attr}="http' in body for attr in ("src", "href")), "no external asset"


def test_access_needs_a_bearer_or_a_valid_link(health_stack: LocalStack) -> None:
    gw = health_stack.gateway.url
    status, _, body = fetch(f"{gw}/health")
    assert status == 401 and "signed link" in body
    good = links.issue(DEMO_MONITOR_TOKEN, 60)
    assert fetch(f"{gw}/health?exp={good['exp']}&sig={good['sig']}")[0] == 200
    expired = links.issue(DEMO_MONITOR_TOKEN, 60, now=time.time() - 3600)
    status, _, body = fetch(f"{gw}/health?exp={expired['exp']}&sig={expired['sig']}")
    assert status == 403 and "expired" in body and "<h1>This link cannot be used</h1>" in body
    status, _, body = fetch(f"{gw}/health?exp={int(good['exp']) + 1}&sig={good['sig']}")
    assert status == 403 and "altered" in body
    other = links.issue("another-secret-entirely", 60)
    assert fetch(f"{gw}/health?exp={other['exp']}&sig={other['sig']}")[0] == 403


def test_an_authenticated_caller_gets_a_link_that_works(health_stack: LocalStack) -> None:
    gw = health_stack.gateway.url
    status, _, body = fetch(f"{gw}/job-monitor?link=1", BEARER)
    assert status == 200
    query = json.loads(body)["query"]
    assert fetch(f"{gw}/health?exp={query['exp']}&sig={query['sig']}")[0] == 200
    assert fetch(f"{gw}/health?link=1&exp={query['exp']}&sig={query['sig']}")[0] == 403, "links make no links"


def test_the_signature_is_never_logged(health_stack: LocalStack) -> None:
    stream = io.StringIO()
    logs.configure("DEBUG", stream=stream)
    try:
        expired = links.issue(DEMO_MONITOR_TOKEN, 60, now=time.time() - 3600)
        fetch(f"{health_stack.gateway.url}/health?exp={expired['exp']}&sig={expired['sig']}")
        good = links.issue(DEMO_MONITOR_TOKEN, 60)
        fetch(f"{health_stack.gateway.url}/health?exp={good['exp']}&sig={good['sig']}")
    finally:
        logs.reset()
    text = stream.getvalue()
    assert "health page refused" in text
    assert expired["sig"] not in text and good["sig"] not in text


def test_health_link_command(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from functions.job_monitor.health import cli

    monkeypatch.delenv("HEALTH_LINK_SECRET", raising=False)
    monkeypatch.setenv("MONITOR_TOKEN", "a-monitor-token-of-length")
    assert cli.main(["--base", "https://gw.example/job-monitor", "--ttl", "120"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://gw.example/job-monitor?format=html&exp=")
    exp = url.split("exp=")[1].split("&")[0]
    sig = url.split("sig=")[1]
    links.verify("a-monitor-token-of-length", exp, sig)
    monkeypatch.delenv("MONITOR_TOKEN")
    assert cli.main(["--base", "https://gw.example/job-monitor"]) == 2
