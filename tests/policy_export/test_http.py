"""HTTP behaviour: auth, methods, parameter validation, ETag/304, configuration refusal."""

from __future__ import annotations

import base64
import json

import pytest

from tests.policy_export.conftest import EXPORT_TOKEN, SMALL_NS, Caller, Seeded, apig_event

QUERY = {"namespace": SMALL_NS, "repository": "svc-0*"}


# -- auth -----------------------------------------------------------------------------------------------------


def test_missing_token_is_401(call: Caller, seeded: Seeded, emulator) -> None:
    reply = call(QUERY, token=None)
    assert reply.status == 401
    assert reply.header("www-authenticate").startswith("Bearer")
    assert "policies" not in reply.json()
    from tests.policy_export.conftest import logged_requests

    assert logged_requests(emulator) == [], "no SWR call before the caller is authenticated"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-token-wrong-token-wrong",
        f"Bearer {EXPORT_TOKEN}x",
        f"Bearer {EXPORT_TOKEN[:-1]}",
        f"Basic {EXPORT_TOKEN}",
        EXPORT_TOKEN,
        "Bearer ",
    ],
)
def test_wrong_token_is_401(call: Caller, seeded: Seeded, authorization: str) -> None:
    reply = call(QUERY, token=None, headers={"authorization": authorization})
    assert reply.status == 401
    assert 'error="invalid_token"' in reply.header("www-authenticate")
    assert EXPORT_TOKEN not in reply.body


def test_bearer_scheme_is_case_insensitive(call: Caller, seeded: Seeded) -> None:
    assert call(QUERY, token=None, headers={"authorization": f"bearer {EXPORT_TOKEN}"}).status == 200


def test_function_refuses_to_start_without_token(export_env, seeded: Seeded) -> None:
    from functions.policy_export import index

    export_env.delenv("EXPORT_TOKEN")
    index.APP.reset()
    result = index.handler(apig_event(QUERY), None)
    assert result["statusCode"] == 500
    body = json.loads(result["body"])
    assert body["error"] == "configuration invalid"
    assert any(p.startswith("EXPORT_TOKEN: required") for p in body["problems"])


def test_unauthenticated_only_when_explicitly_allowed(export_env, seeded: Seeded) -> None:
    from functions.policy_export import index

    export_env.delenv("EXPORT_TOKEN")
    export_env.setenv("EXPORT_ALLOW_UNAUTHENTICATED", "true")
    index.APP.reset()
    result = index.handler(apig_event(QUERY, token=None), None)
    assert result["statusCode"] == 200
    assert json.loads(result["body"])["total"] == 20


def test_short_token_is_refused(export_env, seeded: Seeded) -> None:
    from functions.policy_export import index

    export_env.setenv("EXPORT_TOKEN", "short")
    index.APP.reset()
    result = index.handler(apig_event(QUERY, token="short"), None)
    assert result["statusCode"] == 500
    assert any("at least 16" in p for p in json.loads(result["body"])["problems"])
    assert "short" not in json.dumps(json.loads(result["body"])["problems"])


# -- methods and parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "HEAD"])
def test_non_get_is_405(call: Caller, method: str) -> None:
    reply = call(QUERY, method=method)
    assert reply.status == 405
    assert reply.header("allow") == "GET"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({}, ["namespace"]),
        ({"namespace": "Demo"}, ["namespace"]),
        ({"namespace": "ok,-bad"}, ["namespace"]),
        ({"namespace": SMALL_NS, "repository": "app-{a,b"}, ["repository"]),
        ({"namespace": SMALL_NS, "repository": "UPPER"}, ["repository"]),
        ({"namespace": SMALL_NS, "repository": "re:.*"}, ["repository"]),
        ({"namespace": SMALL_NS, "repository": "a,,b"}, ["repository"]),
        ({"namespace": SMALL_NS, "remote_region": "mars"}, ["remote_region"]),
        ({"namespace": SMALL_NS, "format": "xml"}, ["format"]),
        ({"namespace": SMALL_NS, "compare": "everything"}, ["compare"]),
        ({"namespace": SMALL_NS, "limit": "0"}, ["limit"]),
        ({"namespace": SMALL_NS, "limit": "ten"}, ["limit"]),
        ({"namespace": SMALL_NS, "cursor": "not-a-cursor"}, ["cursor"]),
        ({"namespace": SMALL_NS, "foo": "1", "bar": "2"}, ["bar", "foo"]),
        ({"namespace": SMALL_NS, "format": ["json", "csv"]}, ["format"]),
        ({"namespace": "Bad", "limit": "-1", "verbose": "1"}, ["limit", "namespace", "verbose"]),
    ],
)
def test_invalid_parameters_are_400_naming_them(call: Caller, query: dict, names: list[str]) -> None:
    reply = call(query)
    assert reply.status == 400, reply.body
    data = reply.json()
    assert data["parameters"] == names
    assert sorted(data["problems"]) == names
    for name in names:
        assert name in data["error"]


def test_compare_without_rules_is_400(call: Caller, seeded: Seeded) -> None:
    reply = call({**QUERY, "compare": "rules"})
    assert reply.status == 400
    assert reply.json()["parameters"] == ["compare"]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _payload(cursor: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))


def test_tampered_or_foreign_cursor_is_400(call: Caller, seeded: Seeded) -> None:
    query = {"namespace": SMALL_NS, "limit": "5"}
    cursor = call(query).json()["next"]
    assert call({**query, "cursor": cursor}).status == 200
    good = _payload(cursor)
    assert set(good) == {"v", "o", "q", "c"} and good["o"] == 5
    bad = [
        cursor[:-5],  # truncated
        "!!" + cursor,  # not base64url
        _b64({**good, "q": "0" * 24}),  # bound to another query
        _b64({**good, "o": -1}),
        _b64({**good, "o": "5"}),
        _b64({**good, "v": 2}),
        _b64({**good, "x": 1}),
        _b64([good]),
        _b64({**good, "o": 10_000}),  # past the end
    ]
    for value in bad:
        reply = call({**query, "cursor": value})
        assert reply.status == 400, value
        assert reply.json()["parameters"] == ["cursor"]
    # The same cursor with other parameters.
    reply = call({"namespace": SMALL_NS, "limit": "6", "cursor": cursor})
    assert reply.status == 400 and "different query" in reply.json()["problems"]["cursor"]


# -- ETag -----------------------------------------------------------------------------------------------------


def test_etag_and_304(call: Caller, seeded: Seeded, emulator) -> None:
    first = call(QUERY)
    etag = first.header("etag")
    assert etag and etag.startswith('W/"')
    again = call(QUERY)
    assert again.header("etag") == etag, "stable across runs although generated_at changes"
    assert again.json()["generated_at"] >= first.json()["generated_at"]

    not_modified = call(QUERY, headers={"if-none-match": etag})
    assert not_modified.status == 304
    assert not_modified.body == ""
    assert not_modified.header("etag") == etag
    assert call(QUERY, headers={"if-none-match": f'"other", {etag}'}).status == 304
    assert call(QUERY, headers={"if-none-match": etag.removeprefix("W/")}).status == 304
    assert call(QUERY, headers={"if-none-match": "*"}).status == 304
    assert call(QUERY, headers={"if-none-match": '"something-else"'}).status == 200

    # Another representation of the same data has another tag.
    assert call({**QUERY, "format": "csv"}).header("etag") != etag
    # Changed data: the old tag no longer matches.
    emulator.state.add_sync_repo(SMALL_NS, "svc-01", "cn-north-4", "ops-new")
    changed = call(QUERY, headers={"if-none-match": etag})
    assert changed.status == 200
    assert changed.header("etag") != etag
