"""Property-based fuzzing of every parser that sees untrusted input, and of the platform adapters.

Arbitrary bytes and arbitrary JSON must give a 4xx with a message, or a clean ignore: never an exception, never a
5xx. Targets: every push-sync parser (``functions/push_sync/parsers/*``), the detector, the name validator and
encoder (``shared.swr.names``), policy-export's query parser and cursor, job-monitor's override parser (TIMER
``user_event`` and manual HTTP body), and the FunctionGraph / OpenFaaS adapters driving the three functions end to
end. Examples per property: 200 by default, 10,000 with ``HYPOTHESIS_PROFILE=full`` (see conftest.py).
"""

from __future__ import annotations

import base64
import functools
import json
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from functions.push_sync.detect import decode, parse_payload, route
from functions.push_sync.model import ParseResult, PayloadError
from functions.push_sync.parsers import (
    acr,
    alibaba,
    cloudevents,
    common,
    distribution,
    dockerhub,
    ecr,
    generic,
    gitea,
    harbor,
    jfrog,
    pubsub,
    quay,
    zot,
)
from functions.push_sync.parsers.common import UnreadablePush
from localdev.context import FunctionGraphContext, OpenFaaSEvent
from localdev.emulator import Emulator
from shared.runtime import functiongraph, openfaas
from shared.swr import names
from shared.swr.models import TAG_RE
from tests.reliability import figures
from tests.reliability.conftest import FUZZ
from tests.reliability.support import (
    EXPORT_TOKEN,
    MONITOR_TOKEN,
    WEBHOOK_SECRET,
    function_env,
    swr_env,
)

# -- strategies -----------------------------------------------------------------------------------------------

KEYS = [
    "type", "event_type", "event_data", "data", "data_base64", "resources", "repository", "repo_full_name",
    "namespace", "name", "tag", "tags", "digest", "resource_url", "events", "action", "target", "mediaType",
    "specversion", "source", "id", "push_data", "repo_name", "pushed_at", "updated_tags", "docker_url",
    "callback_url", "url", "namespaces", "repos", "dry_run", "resync", "alert",
]  # fmt: skip
VALUES = [
    "PUSH_ARTIFACT", "push_artifact", "harbor.artifact.pushed", "harbor.artifact.deleted", "push", "pull",
    "1.0", "demo", "team/app", "demo/team/app", "demo/../etc", "a%2Fb", "v1", "", "sha256:" + "0" * 64,
    "application/vnd.oci.image.manifest.v1+json", "application/octet-stream", "Bad Name", "a//b", "d\u0435mo",
    "swr.cn-north-4.myhuaweicloud.com/demo/team/app:v1", "http://127.0.0.1:1/x@sha256:" + "a" * 64,
    "demo/*", "re:.*", "{a,b}", "**", "x" * 200,
]  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(VALUES)
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6)
    ),
    max_leaves=20,
)
json_objects = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), json_values, max_size=6)
names_text = st.text(
    # Cyrillic a, fullwidth e, zero-width space, e acute: look-alikes and invisibles.
    alphabet=st.sampled_from([*"abcz09._-/$%2F?#:@ \t\n\x00\x7fAZ", "\u0430", "\uff45", "\u200b", "\u00e9"]),
    max_size=140,
) | st.sampled_from([*VALUES, "..", "a/../b", "%2e%2e", "demo/..", "a" * 129, "a" * 65])
bytes_or_json = st.binary(max_size=400) | json_values.map(lambda v: json.dumps(v).encode())


def _printable(text: str) -> bool:
    return not any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def check_result(result: Any) -> None:
    """A parse result only ever holds valid SWR names and tags; reasons are bounded, printable text."""
    assert isinstance(result, ParseResult)
    for event in result.events:
        assert names.validate_namespace(event.namespace) == event.namespace
        assert names.validate_repository(event.repository) == event.repository
        assert TAG_RE.fullmatch(event.tag), event
        assert not event.digest or common.DIGEST_RE.fullmatch(event.digest)
    for item in [*result.ignored, *result.rejected]:
        assert isinstance(item.reason, str) and item.reason and _printable(item.reason), item
        assert len(item.reason) < 2000, len(item.reason)
    for rejected in result.rejected:
        for text in (rejected.namespace, rejected.repository, rejected.tag):
            assert _printable(text) and len(text) < 200, rejected


def check_error(err: PayloadError) -> None:
    message = str(err)
    assert message and _printable(message) and len(message) < 2000, message


def parse_or_reject(fn: Any, *args: Any) -> None:
    try:
        result = fn(*args)
    except PayloadError as err:
        check_error(err)
        return
    check_result(result)


# -- push-sync parsers, detector ------------------------------------------------------------------------------

PARSERS = {
    "harbor": harbor.parse,
    "distribution": distribution.parse,
    "dockerhub": dockerhub.parse,
    "quay": quay.parse,
    "generic": generic.parse,
    "jfrog": jfrog.parse,
    "gitea": gitea.parse,
    "acr": acr.parse,
    "alibaba-acr": alibaba.parse,
    "ecr": ecr.parse,
    "pubsub": lambda data: pubsub.parse(data, route, 0),
    "zot": lambda data: zot.parse("zotregistry.image.updated", data, {}),
    "cloudevents": lambda data: cloudevents.parse(data, route, 0),
    "eventgrid-batch": lambda data: cloudevents.parse_batch(data, route, 0),
    "route": lambda data: route(data, 0),
}


@FUZZ
@given(data=json_objects)
@example(data={"events": True})  # found by this test: a non-list "events" crashed two parsers
@example(data={"events": [{"specversion": "1.0", "data": {"events": 7}}]})
def test_parsers_never_raise(data: dict[str, Any]) -> None:
    """Every parser on the same arbitrary object: each example counts once per parser."""
    for parser in PARSERS.values():
        figures.add("fuzz examples run")
        parse_or_reject(parser, data)
    cloudevents.data_of(data)


@FUZZ
@given(
    payload=json_values,
    source=st.sampled_from(["harbor", "harbor-cloudevents", "cloudevents-harbor"]),
)
def test_harbor_event_data_never_raises(payload: Any, source: str) -> None:
    figures.add("fuzz examples run")
    result = ParseResult(source)
    try:
        harbor.parse_event_data(payload, result, source)
    except UnreadablePush as err:  # a push it cannot read is refused (400), never dropped
        check_error(err)
        return
    check_result(result)


@FUZZ
@given(url=st.text(max_size=200) | st.sampled_from(VALUES))
def test_resource_url_split_never_raises(url: str) -> None:
    figures.add("fuzz examples run")
    name, tag, digest = harbor.split_resource_url(url)
    assert all(isinstance(x, str) for x in (name, tag, digest))


@FUZZ
@given(
    tag=json_values, digest=json_values, full_name=json_values | names_text, ns=names_text, repo=names_text
)
def test_add_push_validates_everything(tag: Any, digest: Any, full_name: Any, ns: Any, repo: Any) -> None:
    figures.add("fuzz examples run")
    result = ParseResult("generic")
    try:
        common.add_push(result, "generic", tag, digest, full_name=full_name)
        common.add_push(result, "generic", tag, digest, namespace=ns, repository=repo)
    except UnreadablePush as err:  # neither tag nor digest: refused (400), never dropped
        assert not common.text(tag) and not common.text(digest)
        check_error(err)
        return
    check_result(result)


@FUZZ
@given(body=bytes_or_json, ce=st.booleans(), ce_type=st.sampled_from(VALUES))
def test_detector_never_raises(body: bytes, ce: bool, ce_type: str) -> None:
    figures.add("fuzz examples run")
    headers = {"ce-specversion": "1.0", "ce-type": ce_type, "ce-id": "1"} if ce else {}
    parse_or_reject(parse_payload, body, headers)
    try:
        decode(body)
    except PayloadError as err:
        check_error(err)


# -- shared.swr.names ---------------------------------------------------------------------------------------------


@FUZZ
@given(value=names_text | json_values)
def test_name_validation_and_encoding(value: Any) -> None:
    figures.add("fuzz examples run")
    for validate, encode in (
        (names.validate_namespace, names.encode_namespace),
        (names.validate_repository, names.encode_repository),
    ):
        try:
            valid = validate(value)
        except names.InvalidName as err:
            assert _printable(str(err)) and len(str(err)) < 400, str(err)
            with pytest.raises(names.InvalidName):
                encode(value)
            continue
        assert valid == value and isinstance(valid, str)
        segment = encode(valid)
        # One path segment, nothing a server could read as a separator, query, fragment or traversal.
        assert re.fullmatch(r"[a-z0-9._%-]+", segment), segment
        assert segment not in (".", "..") and "%2F" not in segment.upper()
        if validate is names.validate_repository:
            assert names.decode_repository(segment) == valid


@FUZZ
@given(ns=names_text, repo=names_text, full=names_text)
def test_repo_path_is_one_segment_each_or_refused(ns: str, repo: str, full: str) -> None:
    figures.add("fuzz examples run")
    try:
        path = names.repo_path(ns, repo, "sync_images")
    except names.InvalidName:
        pass
    else:
        assert path.split("/")[:5] == ["", "v2", "manage", "namespaces", ns] and len(path.split("/")) == 8
    try:
        namespace, repository = names.split_full_name(full)
    except names.InvalidName:
        return
    assert f"{namespace}/{repository}" == full


# -- policy-export query, cursor ------------------------------------------------------------------------------

query_values = st.lists(names_text | st.text(max_size=30), max_size=4)
QUERY_KEYS = ["namespace", "repository", "remote_region", "format", "compare", "cursor", "limit", "x", ""]
queries = st.dictionaries(st.sampled_from(QUERY_KEYS) | st.text(max_size=10), query_values, max_size=6)
accepts = (
    st.none()
    | st.text(max_size=60)
    | st.sampled_from(["application/json", "text/csv;q=0.5, */*;q=0.1", "image/png", "*/*;q=x", "text/*;q=0"])
)


@FUZZ
@given(query=queries, accept=accepts)
@example(query={"namespace": ["demo"], "limit": ["\u00b2"]}, accept=None)  # found by the full profile
def test_export_query_parser(query: dict[str, list[str]], accept: str | None) -> None:
    from functions.policy_export.params import NotAcceptable, ParamError, parse_query

    figures.add("fuzz examples run")
    try:
        parsed = parse_query(query, accept)
    except ParamError as err:
        assert err.problems and all(isinstance(v, str) and v for v in err.problems.values())
        assert all(_printable(k) and _printable(v) for k, v in err.problems.items()), err.problems
        return
    except NotAcceptable as err:
        assert str(err)
        return
    assert parsed.namespaces and all(names.is_valid_namespace(n) for n in parsed.namespaces)
    parsed.fingerprint()


@FUZZ
@given(
    text=st.text(max_size=600) | st.binary(max_size=400).map(lambda b: base64.urlsafe_b64encode(b).decode())
)
def test_export_cursor_decode(text: str) -> None:
    from functions.policy_export.paging import Cursor, CursorError

    figures.add("fuzz examples run")
    try:
        Cursor.decode(text, "fingerprint")
    except CursorError as err:
        assert str(err)


# -- job-monitor overrides ------------------------------------------------------------------------------------


@functools.cache
def _monitor_settings() -> Any:
    from functions.job_monitor.settings import MonitorSettings

    return MonitorSettings.model_validate(
        {"SWR_REGION": "cn-north-4", "SWR_AUTH_TOKEN": "t" * 20, "MONITOR_REPOS": "demo/app"}
    )


@FUZZ
@given(
    user_event=st.text(max_size=200) | json_values.map(json.dumps) | json_objects.map(json.dumps),
    http=st.booleans(),
)
def test_monitor_override_parser(user_event: str, http: bool) -> None:
    from functions.job_monitor.trigger import BadRequest, options, parse_overrides
    from shared.logs import logs
    from shared.runtime.model import Invocation, Request

    figures.add("fuzz examples run")
    event = {"trigger_type": "TIMER", "user_event": user_event}
    request = Request("POST", "/", {}, {}, user_event.encode() if http else b"")
    invocation = Invocation(
        "functiongraph", "http" if http else "timer", request, "r", "job-monitor", event=event
    )
    try:
        overrides, warnings = parse_overrides(invocation, logs.get_logger())
        options(_monitor_settings(), overrides, "fuzz", warnings)
    except BadRequest as err:
        assert err.status == 400, f"{err.status} {err} for {user_event!r}"
        assert str(err) and all(isinstance(p, str) for p in err.problems)


# -- adapters and the three functions end to end --------------------------------------------------------------


@pytest.fixture
def functions_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """The three functions configured against an empty emulator: any SWR call answers 404 (a 4xx)."""
    rules = [{"namespace": "*", "targets": [{"region": "ap-southeast-1", "namespace": "demo"}]}]
    env = swr_env(
        emulator,
        "token",
        HTTP_MAX_ATTEMPTS="1",
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        SYNC_RULES=json.dumps(rules),
        EXPORT_TOKEN=EXPORT_TOKEN,
        MONITOR_TOKEN=MONITOR_TOKEN,
        MONITOR_REPOS="demo/app",
        LOG_LEVEL="ERROR",
    )
    function_env(monkeypatch, **env)
    yield emulator


FUNCTIONS = ["push-sync", "job-monitor", "policy-export"]
header_values = st.text(max_size=40) | st.sampled_from(
    [
        WEBHOOK_SECRET,
        f"Bearer {EXPORT_TOKEN}",
        f"Bearer {MONITOR_TOKEN}",
        f"{WEBHOOK_SECRET}, x",
        "cron-connector",
    ]
)
header_names = st.sampled_from(
    [
        "authorization",
        "Authorization",
        "content-type",
        "x-connector",
        "accept",
        "x-correlation-id",
        "ce-specversion",
    ]
) | st.text(max_size=10)
apig_events = st.fixed_dictionaries(
    {
        "httpMethod": st.sampled_from(["GET", "POST", "PUT", "get", ""]) | json_values,
        "path": st.text(max_size=20) | json_values,
        "headers": st.dictionaries(
            header_names, header_values | st.lists(header_values, max_size=3), max_size=5
        )
        | json_values,
        "queryStringParameters": queries | json_values,
        "body": st.text(max_size=200)
        | json_values
        | bytes_or_json.map(lambda b: base64.b64encode(b).decode()),
        "isBase64Encoded": st.booleans() | json_values,
    },
    optional={"requestContext": json_values},
)
timer_events = st.fixed_dictionaries(
    {"trigger_type": st.sampled_from(["TIMER", "timer"]), "user_event": json_values | st.text(max_size=80)}
)
any_events = apig_events | timer_events | json_values


def _status_of(result: Any) -> int:
    assert isinstance(result, dict) and "statusCode" in result, result
    status = int(result["statusCode"])
    summary = result.get("summary")
    if isinstance(summary, dict) and "http_status" in summary:
        status = int(summary["http_status"])
    return status


@pytest.mark.parametrize("function", FUNCTIONS)
@FUZZ
@given(event=any_events)
def test_functiongraph_handler_never_5xx(functions_env: Emulator, function: str, event: Any) -> None:
    from localdev.registry import load

    figures.add("fuzz examples run")
    functiongraph.to_invocation(event, None, function)  # the adapter alone never raises either
    result = load(function).handler(event, FunctionGraphContext(function, timeout_s=10))
    status = _status_of(result)
    assert status < 500, (status, result)
    if "body" in result and isinstance(result["body"], str) and result.get("headers"):
        assert "Traceback" not in result["body"]


# A real HTTP header value cannot hold CR/LF (werkzeug refuses them, as any HTTP server would).
openfaas_headers = st.lists(
    st.tuples(header_names, header_values).filter(lambda kv: not any(c in "".join(kv) for c in "\r\n")),
    max_size=6,
)
openfaas_queries = st.dictionaries(
    st.sampled_from(QUERY_KEYS) | st.text(max_size=8), query_values, max_size=4
)


@pytest.mark.parametrize("function", FUNCTIONS)
@FUZZ
@given(
    body=bytes_or_json,
    headers=openfaas_headers,
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "post"]),
    query=openfaas_queries,
    werkzeug=st.booleans(),
)
def test_openfaas_handle_never_5xx(
    functions_env: Emulator,
    function: str,
    body: bytes,
    headers: list[tuple[str, str]],
    method: str,
    query: dict[str, list[str]],
    werkzeug: bool,
) -> None:
    from localdev.registry import load

    figures.add("fuzz examples run")
    event = OpenFaaSEvent(body, {}, method, {}, "/")
    if werkzeug:
        from werkzeug.datastructures import Headers, MultiDict

        event.headers = Headers(headers)  # type: ignore[assignment]
        event.query = MultiDict([(k, v) for k, vs in query.items() for v in vs])  # type: ignore[assignment]
    else:
        event.headers = dict(headers)
        event.query = query  # type: ignore[assignment]
    invocation = openfaas.to_invocation(event, None, function)
    assert invocation.request.method == method.upper()
    result = load(function).handle(event, None)
    assert set(result) == {"statusCode", "body", "headers"} and isinstance(result["body"], str)
    assert result["statusCode"] < 500, result
