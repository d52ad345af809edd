"""Parser defects found by an audit: unvalidated digests, Harbor push data in documented but unread forms, and
duplicate JSON keys. Each test failed before its fix."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest

from functions.push_sync.detect import parse_payload
from functions.push_sync.model import PayloadError
from shared.logs import logs
from tests.push_sync.conftest import Caller, body_of, load, parse, pushes, sync_calls

SHA256 = "sha256:" + "ab" * 32
SHA512 = "sha512:" + "cd" * 64
EXPECTED = ("demo", "team/app", "v1.2.3")
HEADERS = {"ce-specversion": "1.0", "ce-id": "x1", "ce-source": "/projects/2"}


def harbor_push(digest: str, tag: str = "v2") -> dict[str, Any]:
    return {
        "type": "PUSH_ARTIFACT",
        "occur_at": 1,
        "event_data": {
            "resources": [{"tag": tag, "digest": digest}],
            "repository": {"repo_full_name": "demo/team/app"},
        },
    }


def harbor_ce_data() -> dict[str, Any]:
    data = load("harbor-cloudevents.json")["data"]
    assert isinstance(data, dict)
    return data


def harbor_ce(**fields: Any) -> dict[str, Any]:
    event = load("harbor-cloudevents.json")
    del event["data"]
    return event | fields


def b64(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.b64encode(raw).decode()


# -- 1. digests are validated: an invalid one is dropped (and noted), the tag is still synced ----------------


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:abc",
        "sha256:" + "AB" * 32,  # upper-case hex
        "sha256:" + "ab" * 32 + "0",  # 65 digits
        "sha256:" + "ab" * 31 + "zz",
        "sha512:" + "cd" * 32,  # sha512 with sha256's length
        "sha256:\ud800abc",  # a lone surrogate: valid JSON escape, not encodable as UTF-8
        "md5:" + "ab" * 16,
        "sha256:" + "ab" * 32 + "\n",
    ],
)
def test_invalid_digest_is_dropped_and_noted_the_tag_kept(digest: str) -> None:
    result = parse(harbor_push(digest))
    (event,) = result.events
    assert (event.namespace, event.repository, event.tag, event.digest) == ("demo", "team/app", "v2", "")
    (note,) = result.ignored
    assert note.reason.startswith("invalid digest ignored (")
    assert "the tag is synced without it" in note.reason
    assert note.detail["tag"] == "v2"
    note.detail["digest"].encode("ascii")  # shown escaped: printable in answers and logs


@pytest.mark.parametrize("digest", [SHA256, SHA512])
def test_valid_sha256_and_sha512_digests_are_kept(digest: str) -> None:
    result = parse(harbor_push(digest))
    assert [e.digest for e in result.events] == [digest]
    assert result.ignored == []


def test_digest_from_every_format_is_validated() -> None:
    bad = "sha256:" + "0" * 10
    distribution = {
        "events": [
            {
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "repository": "demo/team/app",
                    "tag": "v1",
                    "digest": bad,
                },
            }
        ]
    }
    quay = {"repository": "demo/team/app", "updated_tags": {"v1": bad}}
    resource_url = harbor_push("")
    resource_url["event_data"]["resources"] = [{"resource_url": f"host/demo/team/app@{bad}", "tag": "v1"}]
    for body in (distribution, quay, resource_url):
        result = parse(body)
        assert [(e.tag, e.digest) for e in result.events] == [("v1", "")], body
        assert [i.reason.split(" (")[0] for i in result.ignored] == ["invalid digest ignored"], body


def test_generic_accepts_sha512_and_still_refuses_a_bad_digest() -> None:
    body = {"namespace": "demo", "repository": "team/app", "tags": ["v1"], "digest": SHA512}
    assert [e.digest for e in parse(body).events] == [SHA512]
    with pytest.raises(PayloadError, match="'digest' must be a string like sha256"):
        parse(body | {"digest": "sha256:" + "AB" * 32})


def test_surrogate_digest_does_not_break_the_answer_or_the_logs(call: Caller, seeded: Any) -> None:
    # The audit's reproduction: a UTF-8 log stream raised UnicodeEncodeError → 500, and Harbor's redelivery
    # did the same after the sync had already been started.
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict", write_through=True)
    logs.configure("DEBUG", stream)
    raw = (
        b'{"type":"PUSH_ARTIFACT","occur_at":1,"event_data":{"resources":[{"tag":"v2",'
        b'"digest":"sha256:\\ud800abc"}],"repository":{"repo_full_name":"demo/team/app"}}}'
    )
    for _ in range(2):
        response = call(raw)
        assert response.status == 200, response.body
        text = response.body if isinstance(response.body, str) else response.body.decode()
        text.encode("utf-8")
        body = body_of(response)
        (result,) = body["results"]
        assert (result["tag"], result["status"]) == ("v2", "triggered")
        assert "digest" not in result
        (note,) = body["ignored"]
        assert note["digest"] == "sha256:\\ud800abc" and note["tag"] == "v2"
    assert [c["body"]["imageTag"] for c in sync_calls(seeded)] == [["v2"], ["v2"]]


# -- 2. Harbor push data in every documented form is read; unreadable push data is a 400 -----------------------


def test_harbor_cloudevent_data_as_json_string() -> None:
    result = parse(harbor_ce(data=json.dumps(harbor_ce_data())))
    assert result.format == "harbor-cloudevents"
    assert pushes(result) == [(*EXPECTED, "harbor-cloudevents")]
    assert result.ignored == []


def test_harbor_cloudevent_data_base64() -> None:
    result = parse(harbor_ce(data_base64=b64(harbor_ce_data())))
    assert pushes(result) == [(*EXPECTED, "harbor-cloudevents")]
    assert result.ignored == []


def test_harbor_cloudevent_binary_mode_with_a_default_format_body() -> None:
    headers = HEADERS | {"ce-type": "harbor.artifact.pushed"}
    result = parse(load("harbor.json"), headers)
    assert pushes(result) == [(*EXPECTED, "harbor-cloudevents")]
    assert result.ignored == []


def test_harbor_cloudevent_structured_with_a_default_format_body() -> None:
    default = load("harbor.json")
    default["event_data"] = json.dumps(default["event_data"])
    for event in (harbor_ce(data=default), harbor_ce(data=json.dumps(default))):
        assert pushes(parse(event)) == [(*EXPECTED, "harbor-cloudevents")]


def test_harbor_cloudevent_default_body_of_another_type_is_not_a_push() -> None:
    headers = HEADERS | {"ce-type": "harbor.artifact.pushed"}
    result = parse(load("harbor.json") | {"type": "DELETE_ARTIFACT"}, headers)
    assert result.events == []
    assert [i.reason for i in result.ignored] == ["event type DELETE_ARTIFACT is not a push"]


def test_harbor_default_event_data_as_json_string() -> None:
    data = load("harbor.json")
    data["event_data"] = json.dumps(data["event_data"])
    result = parse(data)
    assert pushes(result) == [(*EXPECTED, "harbor")]
    assert result.ignored == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            harbor_ce(data="{not json"),
            "harbor.artifact.pushed event: 'data': malformed JSON: Expecting property name",
        ),
        (harbor_ce(data="[1]"), "'data' must be a JSON object (Harbor event data), got an array"),
        (harbor_ce(data=7), "'data' must be a JSON object (Harbor event data), got a number"),
        (harbor_ce(data_base64="@@@ not base64 @@@"), "'data_base64': not valid base64"),
        (harbor_ce(data_base64=b64(b"\xff\xfe\xfd")), "'data_base64': malformed JSON"),
        (harbor_ce(data_base64=b64(b"{")), "'data_base64': malformed JSON"),
        (harbor_ce(data_base64=5), "'data_base64' must be a base64 string, got a number"),
        (harbor_ce(), "harbor.artifact.pushed event carries no data"),
        (harbor_ce(data=None), "harbor.artifact.pushed event carries no data"),
        (load("harbor.json") | {"event_data": "nope"}, "PUSH_ARTIFACT event: 'event_data': malformed JSON"),
        (load("harbor.json") | {"event_data": "[]"}, "'event_data' must be a JSON object, got an array"),
        (load("harbor.json") | {"event_data": 3}, "'event_data' must be a JSON object, got a number"),
        (load("harbor.json") | {"event_data": None}, "PUSH_ARTIFACT event without 'event_data'"),
        ({"type": "PUSH_ARTIFACT", "occur_at": 1}, "PUSH_ARTIFACT event without 'event_data'"),
        ({"type": "push_artifact", "data": "x"}, "push_artifact event: 'data': malformed JSON"),
    ],
)
def test_unreadable_harbor_push_data_is_a_payload_error(body: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse(body)
    assert message in str(info.value)


def test_unreadable_push_inside_an_eventgrid_envelope_is_a_payload_error() -> None:
    broken = load("harbor.json") | {"event_data": "nope"}
    single = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": broken}
    batch = {"events": [single | {"data": load("generic.json")}, single, harbor_ce(data="{")]}
    for body in (single, batch, {"events": [harbor_ce(data="{")]}):
        with pytest.raises(PayloadError, match="malformed JSON"):
            parse(body)


def test_unreadable_data_of_non_push_events_is_still_acknowledged() -> None:
    pulled = parse(harbor_ce(type="harbor.artifact.pulled", data="{not json"))
    assert pulled.events == [] and [i.reason for i in pulled.ignored] == [
        "event type harbor.artifact.pulled is not a push"
    ]
    pulled_default = parse(load("harbor.json") | {"type": "PULL_ARTIFACT", "event_data": "nope"})
    assert [i.reason for i in pulled_default.ignored] == ["event type PULL_ARTIFACT is not a push"]
    # An event of a type no table lists is no identified non-push: unreadable data is a 400 (was "ignored").
    with pytest.raises(PayloadError, match=r"^CloudEvent object:put \(source obs\): 'data': malformed JSON"):
        parse({"specversion": "1.0", "id": "1", "source": "obs", "type": "object:put", "data": "{"})


def test_handler_syncs_every_harbor_data_form(call: Caller, seeded: Any) -> None:
    default = load("harbor.json")
    string_default = default | {"event_data": json.dumps(default["event_data"])}
    deliveries: list[tuple[Any, dict[str, str] | None]] = [
        (harbor_ce(data=json.dumps(harbor_ce_data())), None),
        (harbor_ce(data_base64=b64(harbor_ce_data())), None),
        (default, HEADERS | {"ce-type": "harbor.artifact.pushed"}),
        (string_default, None),
    ]
    statuses = []
    for body, headers in deliveries:
        response = call(body, headers=headers)
        assert response.status == 200, response.body
        (result,) = body_of(response)["results"]
        assert result["tag"] == "v1.2.3" and result["digest"] == harbor_ce_data()["resources"][0]["digest"]
        statuses.append(result["status"])
    # The same push each time (same digest): read alike, so the later deliveries are duplicates of the first.
    assert statuses == ["triggered", "duplicate", "duplicate", "duplicate"]
    assert [c["body"]["imageTag"] for c in sync_calls(seeded)] == [["v1.2.3"]]


def test_handler_answers_400_for_unreadable_harbor_push_data(call: Caller, seeded: Any) -> None:
    response = call(harbor_ce(data="{not json"))
    assert response.status == 400
    error = body_of(response)["error"]
    assert error.startswith("harbor.artifact.pushed event: 'data': malformed JSON")
    assert sync_calls(seeded) == []


# -- 3. duplicate JSON keys are refused, not silently resolved to the last value -------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (b'{"namespace":"demo","repository":"team/app","tags":["v1"],"tags":["v2"]}', "tags"),
        (
            b'{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"tag":"v1","tag":"v2"}],'
            b'"repository":{"repo_full_name":"demo/team/app"}}}',
            "tag",
        ),
        (b'{"a":{"b":1,"b":1}}', "b"),  # equal values too: the sender is broken either way
    ],
)
def test_duplicate_json_keys_are_a_payload_error(raw: bytes, key: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_payload(raw)
    assert str(info.value) == f"malformed JSON: duplicate key '{key}'"


def test_duplicate_key_is_shown_bounded_and_printable() -> None:
    raw = b'{"\\ud800' + b"k" * 500 + b'":1,"\\ud800' + b"k" * 500 + b'":2}'
    with pytest.raises(PayloadError) as info:
        parse_payload(raw)
    message = str(info.value)
    assert message.startswith("malformed JSON: duplicate key '\\ud800kkk") and message.endswith("...'")
    assert len(message) < 200
    message.encode("ascii")


def test_duplicate_keys_inside_string_data_are_a_payload_error() -> None:
    inner = '{"resources":[{"tag":"v1"}],"resources":[{"tag":"v2"}],"repository":{"repo_full_name":"demo/a"}}'
    with pytest.raises(PayloadError, match="'data': malformed JSON: duplicate key 'resources'"):
        parse(harbor_ce(data=inner))


def test_handler_refuses_duplicate_keys_without_calling_swr(call: Caller, seeded: Any) -> None:
    response = call(b'{"namespace":"demo","repository":"team/app","tags":["v1.2.3"],"tags":["v2"]}')
    assert response.status == 400
    assert body_of(response)["error"] == "malformed JSON: duplicate key 'tags'"
    assert sync_calls(seeded) == []
