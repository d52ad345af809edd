"""Hostile input: names built to escape a URL path or to look like another name, oversized bodies, duplicate or
folded credentials, and payloads that try to make a function call somewhere else (SSRF).

- A hostile name or tag is refused (push-sync 422 ``rejected``, policy-export 400, job-monitor 400) and never
  reaches SWR: the emulator receives no request at all for it.
- A body over the limit gets 413 before it is parsed.
- ``Authorization: a, b`` (folded), an APIG list value, or two ``Authorization`` headers in an OpenFaaS werkzeug
  ``Headers`` get 401, even when one of the values is the right secret.
- SWR and IAM endpoints come from configuration only: URLs inside a payload (``resource_url``, ``callback_url``,
  ``url``, ``docker_url``, CloudEvents ``source``/``dataschema``, overrides, query parameters) cause zero requests
  to the loopback server they point at, and neither do redirects from SWR or from the alert webhook.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug.datastructures import Headers

from localdev.context import OpenFaaSEvent
from localdev.emulator import Emulator
from tests.reliability import figures
from tests.reliability.support import (
    DST,
    EXPORT_TOKEN,
    MONITOR_TOKEN,
    WEBHOOK_SECRET,
    apig_event,
    digest_of,
    export,
    function_env,
    harbor,
    invoke,
    monitor,
    push,
    requests_to,
    swr_env,
)

RULES = [{"namespace": "*", "repository": "**", "targets": [{"region": DST, "namespace": "demo"}]}]
CYRILLIC_A, CYRILLIC_E = "\u0430", "\u0435"
HOSTILE_NAMES = {
    "dot-dot": "demo/../etc/passwd",
    "dot-dot-segment": "demo/team/../../v2/manage/regions",
    "leading-dot-dot": "../demo/app",
    "encoded-slash": "demo/team%2Fapp",
    "encoded-dot-dot": "demo/%2e%2e/app",
    "query": "demo/team/app?filter=x",
    "fragment": "demo/team/app#x",
    "newline": "demo/team/app\r\nX-Injected: 1",
    "nul": "demo/te\x00am",
    "tab": "demo/team\tapp",
    "cyrillic-a": f"demo/te{CYRILLIC_A}m/app",
    "cyrillic-e-namespace": f"d{CYRILLIC_E}mo/team/app",
    "fullwidth": "demo/\uff54eam/app",
    "zero-width": "demo/te\u200bam/app",
    "over-long-repository": "demo/" + "a" * 129,
    "over-long-namespace": "n" * 65 + "/app",
    "upper-case": "Demo/Team/App",
    "space": "demo/team app",
}
HOSTILE_TAGS = {
    "dot-dot": "../v1",
    "slash": "v1/../x",
    "query": "v1?x=1",
    "fragment": "v1#x",
    "newline": "v1\nX: y",
    "cyrillic": f"v{CYRILLIC_A}1",
    "over-long": "v" * 129,
    "percent": "v1%2F",
}


@pytest.fixture
def env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    state = emulator.state
    state.add_image("demo", "team/app", "v1", digest_of("team/app:v1"))
    state.add_namespace("demo", region=DST)
    state.add_sync_repo("demo", "team/app", DST, "demo", sync_auto=True, override=False)
    function_env(
        monkeypatch,
        **swr_env(
            emulator,
            "token",
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            SYNC_RULES=json.dumps(RULES),
            EXPORT_TOKEN=EXPORT_TOKEN,
            MONITOR_TOKEN=MONITOR_TOKEN,
            MONITOR_REPOS="demo/team/app",
            MAX_BODY_BYTES="65536",
        ),
    )
    yield emulator


def _printable(text: str) -> bool:
    return not any(ord(c) < 32 or ord(c) == 127 for c in text)


def _no_swr_request(emulator: Emulator) -> None:
    assert emulator.state.requests() == [], [r["path"] for r in emulator.state.requests()]


# -- hostile names and tags -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HOSTILE_NAMES))
def test_hostile_name_is_rejected_everywhere(env: Emulator, name: str) -> None:
    full = HOSTILE_NAMES[name]
    namespace, _, repository = full.partition("/")
    digest = digest_of(full)
    payloads = [
        {"namespace": namespace, "repository": repository, "tags": ["v1"], "digest": digest},
        {"events": [{"action": "push", "target": {"repository": full, "tag": "v1", "digest": digest}}]},
        {"push_data": {"tag": "v1", "pushed_at": 1}, "repository": {"repo_name": full}},
        harbor(namespace, repository, [("v1", digest)]),
    ]
    for payload in payloads:
        out = push(payload)
        # Distribution retries any non-2xx forever: its rejection is recorded (a failed intent) and answered 200.
        assert out.status == (200 if "events" in payload else 422), (payload, out.body)
        (result,) = out.data["results"]
        assert result["status"] == "rejected" and result["rule"], result
        assert all(_printable(str(v)) for v in result.values() if isinstance(v, str)), result
    # policy-export: the namespace and repository parameters are validated before any SWR call.
    assert export({"namespace": namespace, "repository": repository or "x"}).status == 400
    assert export({"namespace": full}).status == 400
    # job-monitor: overrides name the scope; a hostile entry refuses the run.
    manual = invoke(
        "job-monitor",
        apig_event(
            "POST",
            "/job-monitor",
            {"Authorization": f"Bearer {MONITOR_TOKEN}"},
            {},
            json.dumps({"repos": [full]}).encode(),
        ),
    )
    assert manual.status == 400, manual.body
    assert monitor(json.dumps({"repos": [full]})).status == 400
    _no_swr_request(env)
    figures.add("hostile inputs refused", len(payloads) + 4)


@pytest.mark.parametrize("tag", sorted(HOSTILE_TAGS))
def test_hostile_tag_is_rejected(env: Emulator, tag: str) -> None:
    value = HOSTILE_TAGS[tag]
    for payload in (
        {"namespace": "demo", "repository": "team/app", "tags": [value], "digest": digest_of(value)},
        harbor("demo", "team/app", [(value, digest_of(value))]),
    ):
        out = push(payload)
        assert out.status == 422, out.body
        (result,) = out.data["results"]
        assert result["status"] == "rejected" and result["rule"] == "tag", result
        assert _printable(result["tag"]) and len(result["tag"]) <= 90, result
    _no_swr_request(env)
    figures.add("hostile inputs refused", 2)


def test_hostile_query_values_never_reach_swr(env: Emulator) -> None:
    for query in (
        {"namespace": "demo", "remote_region": "../../etc"},
        {"namespace": "demo", "format": "json\r\nX: y"},
        {"namespace": "demo", "limit": "1e9"},
        {"namespace": "demo", "limit": "\u00b2"},  # str.isdigit() says yes, int() says no: was a 500
        {"namespace": "demo", "limit": "\u0663"},  # Arabic-Indic 3: int() would read it
        {"namespace": "demo", "cursor": "A" * 600},
        {"namespace": "demo", "endpoint": "http://127.0.0.1:9/"},
        {"namespace": ["demo"] * 21 + [f"ns{i}" for i in range(21)]},
    ):
        out = export(query)
        assert out.status == 400, (query, out.body)
        assert _printable(out.body), out.body
    _no_swr_request(env)


# -- oversized bodies -----------------------------------------------------------------------------------------


def test_oversized_bodies_get_413(env: Emulator) -> None:
    big = b'{"namespace":"demo","repository":"team/app","tags":["v1"],"pad":"' + b"x" * 70_000 + b'"}'
    assert push(big).status == 413
    from functions.push_sync import index

    answer = index.handle(OpenFaaSEvent(big, {"Authorization": WEBHOOK_SECRET}), None)
    assert answer["statusCode"] == 413
    # job-monitor's manual body holds a few overrides: anything large is refused before it is parsed.
    huge = json.dumps({"repos": ["demo/team/app"] * 20_000}).encode()
    manual = invoke(
        "job-monitor",
        apig_event("POST", "/job-monitor", {"Authorization": f"Bearer {MONITOR_TOKEN}"}, {}, huge),
    )
    assert manual.status == 413, manual.body
    _no_swr_request(env)


# -- duplicate and folded credentials -------------------------------------------------------------------------


def _apig(function: str, method: str, headers: dict[str, Any], query: dict[str, Any] | None = None) -> int:
    body = json.dumps(harbor("demo", "team/app", [("v1", digest_of("team/app:v1"))])).encode()
    if function == "job-monitor":
        body = b""
    return invoke(function, apig_event(method, f"/{function}", headers, query or {}, body)).status


CREDENTIALS = {
    "push-sync": ("POST", WEBHOOK_SECRET, None),
    "job-monitor": ("POST", f"Bearer {MONITOR_TOKEN}", None),
    "policy-export": ("GET", f"Bearer {EXPORT_TOKEN}", {"namespace": "demo"}),
}


@pytest.mark.parametrize("function", sorted(CREDENTIALS))
def test_duplicate_or_folded_authorization_is_refused(env: Emulator, function: str) -> None:
    method, good, query = CREDENTIALS[function]
    assert _apig(function, method, {"Authorization": good}, query) == 200, (
        "control: the right credential works"
    )
    env.state.reset()
    env.state.add_image("demo", "team/app", "v1", digest_of("team/app:v1"))
    env.state.add_namespace("demo", region=DST)
    for headers in (
        {"Authorization": f"{good}, other"},  # folded by a proxy
        {"Authorization": f"other, {good}"},
        {"Authorization": [good, "other"]},  # APIG multi-value header
        {"Authorization": [good, good]},
        {"Authorization": [good]},
    ):
        status = _apig(function, method, headers, query)
        expected = 200 if headers["Authorization"] == [good] else 401
        assert status == expected, (headers, status)
    from localdev.registry import load

    module = load(function)
    for values in ([good, "other"], ["other", good], [good, good]):
        headers = Headers()
        for value in values:
            headers.add("Authorization", value)
        body = (
            b"" if function != "push-sync" else json.dumps(harbor("demo", "team/app", [("v1", "")])).encode()
        )
        event = OpenFaaSEvent(body, {}, method, query or {}, "/")
        event.headers = headers  # type: ignore[assignment]
        answer = module.handle(event, None)
        assert answer["statusCode"] == 401, (values, answer)
    figures.add("hostile inputs refused", 8)


@pytest.mark.parametrize("function", sorted(CREDENTIALS))
@pytest.mark.parametrize("value", ["\ud800", "Bearer \ud800", "Bearer x\udfff", "\udc80\udcff"])
def test_lone_surrogates_in_authorization_are_a_401_not_a_500(
    env: Emulator, function: str, value: str
) -> None:
    """An APIG event is JSON, and JSON can carry lone surrogates (``"\\ud800"``): comparing such a header with
    the secret must not raise (that was a 500 "internal error" in all three functions)."""
    method, _, query = CREDENTIALS[function]
    assert _apig(function, method, {"Authorization": value}, query) == 401
    _no_swr_request(env)
    figures.add("hostile inputs refused")


def test_duplicate_signature_header_is_refused(env: Emulator) -> None:
    from functions.push_sync import index
    from functions.push_sync.webhook_auth import signature

    body = json.dumps(harbor("demo", "team/app", [("v1", digest_of("team/app:v1"))])).encode()
    headers = Headers()
    headers.add("X-Signature-256", "sha256=" + signature(WEBHOOK_SECRET, body))
    headers.add("X-Signature-256", "sha256=" + "0" * 64)
    event = OpenFaaSEvent(body, {})
    event.headers = headers  # type: ignore[assignment]
    assert index.handle(event, None)["statusCode"] == 401


def test_correlation_id_cannot_inject_headers(env: Emulator) -> None:
    out = push(
        harbor("demo", "team/app", [("v1", digest_of("team/app:v1"))]),
        headers={"X-Correlation-Id": "abc\r\nSet-Cookie: session=stolen"},
    )
    assert out.status == 200
    assert all(_printable(v) for v in out.headers.values()), out.headers
    assert "stolen" not in json.dumps(out.headers)


# -- SSRF: endpoints come from configuration only --------------------------------------------------------------


def _ssrf_payloads(url: str) -> list[Any]:
    digest = digest_of("team/app:v1")
    data = {
        "resources": [{"digest": digest, "tag": "v1", "resource_url": f"{url}/demo/team/app:v1"}],
        "repository": {"name": "team/app", "namespace": "demo", "repo_full_name": "demo/team/app"},
        "callback_url": url,
        "url": url,
    }
    return [
        {"type": "PUSH_ARTIFACT", "occur_at": 1, "event_data": data, "callback_url": url, "url": url},
        # resource_url only: the names come from it, never a host to call
        {
            "type": "PUSH_ARTIFACT",
            "event_data": {"resources": [{"digest": digest, "resource_url": f"{url[7:]}/demo/team/app:v1"}]},
        },
        {
            "events": [
                {
                    "action": "push",
                    "target": {"repository": "demo/team/app", "tag": "v1", "digest": digest, "url": url},
                    "request": {"host": url[7:], "addr": url[7:]},
                    "source": {"addr": url[7:]},
                }
            ]
        },
        {
            "push_data": {"tag": "v1", "pushed_at": 2},
            "callback_url": url,
            "repository": {"repo_name": "demo/team/app", "repo_url": url},
        },
        {"repository": "demo/team/app", "updated_tags": ["v1"], "docker_url": url, "homepage": url},
        {
            "specversion": "1.0",
            "id": "1",
            "type": "harbor.artifact.pushed",
            "source": url,
            "dataschema": url,
            "data": data,
        },
        {
            "specversion": "1.0",
            "id": "2",
            "type": "com.example.push",
            "source": url,
            "data_base64": base64.b64encode(
                json.dumps(
                    {"namespace": "demo", "repository": "team/app", "tags": ["v1"], "url": url}
                ).encode()
            ).decode(),
        },
    ]


def test_payload_urls_cause_no_request(env: Emulator, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("you should not be here")
    url = httpserver.url_for("/").rstrip("/")
    for payload in _ssrf_payloads(url):
        out = push(payload)
        # The last one's data is a generic payload with an unknown key ("url"): refused (400) since rule 1,
        # it used to be acknowledged as "not a push payload".
        expected = (400,) if payload.get("id") == "2" else (200, 422)
        assert out.status in expected, (payload, out.body)
    assert httpserver.log == [], [r.url for r, _ in httpserver.log]
    assert requests_to(env, "/sync_images"), "the pushes went to the configured SWR endpoint"
    # job-monitor: an override cannot name an endpoint (manual: 400; timer: ignored with a warning).
    for key in ("swr_endpoint", "SWR_ENDPOINT", "alert_webhook_url", "url", "iam_endpoint"):
        body = json.dumps({key: url, "alert": False}).encode()
        manual = invoke(
            "job-monitor",
            apig_event("POST", "/job-monitor", {"Authorization": f"Bearer {MONITOR_TOKEN}"}, {}, body),
        )
        assert manual.status == 400, manual.body
        timer = monitor(json.dumps({key: url, "alert": False}))
        assert timer.status == 200 and any(key in w for w in timer.data.get("warnings", [])), timer.data
    # policy-export: unknown parameters are refused.
    for key in ("endpoint", "swr_endpoint", "url", "callback"):
        assert export({"namespace": "demo", key: url}).status == 400
    assert httpserver.log == [], [r.url for r, _ in httpserver.log]
    figures.add("SSRF payloads checked", len(_ssrf_payloads(url)) + 14)


def test_redirects_are_never_followed(
    env: Emulator, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/trap").respond_with_data("you should not be here")
    trap = httpserver.url_for("/trap")
    for status in (301, 302, 307, 308):
        env.state.add_fault(r"/sync_images$", status=status, headers={"Location": trap}, body="")
        out = push(harbor("demo", "team/app", [("v1", digest_of("team/app:v1"))]))
        assert out.status in (422, 502, 503), out.body  # reported failed, never followed
        assert out.data["results"][0]["status"] == "failed"
        env.state.add_fault(r"^/v2/manage/repos", status=status, headers={"Location": trap}, body="")
        assert export({"namespace": "demo"}).status in (502, 503)
    assert httpserver.log == [], [r.url for r, _ in httpserver.log]


def test_alert_webhook_redirect_is_not_followed(
    env: Emulator, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import datetime, timedelta, timezone

    httpserver.expect_request("/hook").respond_with_data(
        "", status=302, headers={"Location": httpserver.url_for("/trap")}
    )
    httpserver.expect_request("/trap").respond_with_data("you should not be here")
    env.state.add_job(
        "demo", "team/app", "v1", DST, "demo", "failed", datetime.now(timezone.utc) - timedelta(seconds=20)
    )
    monkeypatch.setenv("ALERT_WEBHOOK_URL", httpserver.url_for("/hook"))
    monkeypatch.setenv("MONITOR_RESYNC", "false")
    monkeypatch.setenv("MONITOR_SETTLE_SECONDS", "0")
    from functions.job_monitor import index

    index.APP.reset()
    report = monitor().data
    assert report["alerts_failed"] == 1, report
    assert httpserver.log and all(r.path == "/hook" for r, _ in httpserver.log), httpserver.log  # never /trap


def test_local_gateway_keeps_duplicate_authorization_headers() -> None:
    import http.client

    from localdev.local_stack import DEMO_WEBHOOK_SECRET, LocalStack
    from tests.reliability.support import reset_functions

    saved = dict(os.environ)
    stack = LocalStack(host="127.0.0.1", port=0, monitor_interval=0)
    try:
        stack.start()
        os.environ["LOG_LEVEL"] = "ERROR"
        reset_functions()
        stack.emulator.state.add_image("demo", "team/app", "v9", digest_of("team/app:v9"))
        assert stack.gateway is not None
        host, port = stack.gateway.url.removeprefix("http://").split(":")
        body = json.dumps(harbor("demo", "team/app", [("v9", digest_of("team/app:v9"))])).encode()
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.putrequest("POST", "/push-sync")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Authorization", "not-the-secret")
        conn.putheader("Authorization", DEMO_WEBHOOK_SECRET)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        status = conn.getresponse().status
        conn.close()
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        reset_functions()
    assert status == 401
