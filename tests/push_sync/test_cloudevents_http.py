"""CloudEvents over HTTP in all three content modes (structured, binary, batched), zot's binary-mode push through
both runtime adapters, and the EventGrid envelope around each."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from functions.push_sync.model import PayloadError
from localdev.invoke import invoke
from tests.push_sync.conftest import EVENTS, Caller, body_of, parse, pushes, sync_calls
from tests.push_sync.test_entrypoints import EXPECTED_BODY, SYNC_PATH, app_env  # noqa: F401

FIXTURES = Path(__file__).parent / "fixtures"
ZOT = json.loads((FIXTURES / "zot-image-updated.json").read_text())
ZOT_DIGEST = ZOT["expected"][0][3]


def zot_headers(**attrs: str) -> dict[str, str]:
    headers = {k.lower(): v for k, v in ZOT["headers"].items()}
    headers.update({f"ce-{k}": v for k, v in attrs.items()})
    return headers


def zot_structured(**changes: Any) -> dict[str, Any]:
    """zot's push event in the JSON (structured) format: the same attributes and data."""
    event = {k[3:]: v for k, v in zot_headers().items() if k.startswith("ce-")}
    event.update(datacontenttype="application/json", data=ZOT["body"])
    event.update(changes)
    return event


def raw(data: Any) -> bytes:
    return json.dumps(data).encode()


# -- binary mode ----------------------------------------------------------------------------------------------


def test_zot_binary_push_is_read_from_headers_and_body() -> None:
    result = parse(ZOT["body"], zot_headers())
    assert pushes(result) == [("demo", "team/app", "v1.2.3", "zot")]
    assert result.events[0].digest == ZOT_DIGEST  # kept for the idempotency identity
    assert result.format == "zot"


def test_zot_binary_push_through_functiongraph_apig(app_env: Any) -> None:  # noqa: F811
    result = invoke("push-sync", json.loads((EVENTS / "apig-zot-binary.json").read_text()))
    assert result["statusCode"] == 200, result
    (tag,) = json.loads(result["body"])["results"]
    assert (tag["tag"], tag["digest"], tag["source"]) == ("v1.2.3", ZOT_DIGEST, "zot")
    assert sync_calls(app_env) == [{"method": "POST", "path": SYNC_PATH, "body": EXPECTED_BODY}]


def test_zot_binary_push_through_openfaas(app_env: Any) -> None:  # noqa: F811
    result = invoke("push-sync", json.loads((EVENTS / "openfaas-zot-binary.json").read_text()))
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"])["results"][0]["source"] == "zot"
    assert sync_calls(app_env) == [{"method": "POST", "path": SYNC_PATH, "body": EXPECTED_BODY}]


@pytest.mark.parametrize(
    "kind", ["zotregistry.image.deleted", "zotregistry.image.lint_failed", "zotregistry.repository.created"]
)
def test_zot_non_pushes_are_acknowledged(kind: str) -> None:
    body = {"name": "demo/team/app"} if kind.endswith("created") else ZOT["body"]
    result = parse(body, zot_headers(type=kind))
    assert result.events == [] and [i.reason for i in result.ignored] == [f"event type {kind} is not a push"]


def test_zot_push_by_digest_and_non_image_artifacts_are_acknowledged() -> None:
    by_digest = parse(ZOT["body"] | {"reference": ZOT_DIGEST}, zot_headers())
    assert [i.reason for i in by_digest.ignored] == ["digest-only push (no tag): nothing to sync"]
    chart = parse(ZOT["body"] | {"mediaType": "application/vnd.cncf.helm.config.v1+json"}, zot_headers())
    assert chart.events == [] and chart.ignored[0].reason.startswith("push of application/vnd.cncf.helm")


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (
            ZOT["body"],
            zot_headers(type="zotregistry.image.scanned"),
            "unknown type 'zotregistry.image.scanned'",
        ),
        ({"reference": "v1"}, zot_headers(), "without 'name'"),
        (
            {k: v for k, v in ZOT["body"].items() if k not in ("reference", "digest")},
            zot_headers(),
            "neither",
        ),
        (b"", zot_headers(), "carries no data"),
        (b"name=demo", zot_headers() | {"content-type": "text/plain"}, "Content-Type text/plain is not JSON"),
        (b"{", zot_headers(), "binary-mode body: malformed JSON"),
        (ZOT["body"], {k: v for k, v in zot_headers().items() if k != "ce-type"}, "without a 'type'"),
    ],
)
def test_zot_pushes_that_cannot_be_read_are_refused(body: Any, headers: dict[str, str], message: str) -> None:
    with pytest.raises(PayloadError, match=message.replace("(", r"\(")):
        from functions.push_sync.detect import parse_payload

        parse_payload(body if isinstance(body, bytes) else raw(body), headers)


def test_binary_mode_header_values_are_percent_decoded() -> None:
    headers = zot_headers(type="zotregistry%2Eimage%2Eupdated", source="zot%20registry%C3%A9")
    result = parse(ZOT["body"], headers)
    assert pushes(result) == [("demo", "team/app", "v1.2.3", "zot")]
    with pytest.raises(PayloadError, match="percent-encoding is not UTF-8"):
        parse(ZOT["body"], zot_headers(source="%FF"))


def test_binary_mode_harbor_default_body(call: Caller, seeded: Any) -> None:
    """Harbor's push data (or a whole Default event) as a binary-mode body: same call as structured."""
    harbor = json.loads((EVENTS / "harbor.json").read_text())
    headers = {
        "ce-specversion": "1.0",
        "ce-type": "harbor.artifact.pushed",
        "ce-id": "1",
        "ce-source": "/p/1",
    }
    statuses = []
    for body in (harbor, harbor["event_data"]):
        response = call(body, headers)
        assert response.status == 200, response.body
        statuses.append(body_of(response)["results"][0]["status"])
    # Same push (same digest) read both ways: the second is recognised as a redelivery.
    assert statuses == ["triggered", "duplicate"]
    assert [c["body"]["imageTag"] for c in sync_calls(seeded)] == [["v1.2.3"]]


# -- structured and batched modes -----------------------------------------------------------------------------


def test_structured_mode_is_one_event() -> None:
    headers = {"content-type": "application/cloudevents+json; charset=utf-8"}
    assert pushes(parse(zot_structured(), headers)) == [("demo", "team/app", "v1.2.3", "zot")]
    # The media type decides: ce-* headers of a structured request are not the event.
    assert pushes(parse(zot_structured(), headers | {"ce-type": "zotregistry.image.deleted"})) == [
        ("demo", "team/app", "v1.2.3", "zot")
    ]
    for body in (ZOT["body"], [zot_structured()]):
        with pytest.raises(PayloadError, match="must be one CloudEvent object"):
            parse(body, headers)


def test_batched_mode_is_an_array_of_events(call: Caller, seeded: Any) -> None:
    harbor_ce = json.loads((EVENTS / "harbor-cloudevents.json").read_text())
    second = zot_structured(id="2", data=ZOT["body"] | {"reference": "v2"})
    batch = [zot_structured(), zot_structured(type="zotregistry.image.deleted"), second, harbor_ce]
    response = call(batch, {"content-type": "application/cloudevents-batch+json"})
    assert response.status == 200, response.body
    data = body_of(response)
    assert data["format"] == "cloudevents-batch"
    assert sorted(r["tag"] for r in data["results"]) == ["v1.2.3", "v2"]
    assert [i["reason"] for i in data["ignored"]] == ["event type zotregistry.image.deleted is not a push"]
    assert [c["body"]["imageTag"] for c in sync_calls(seeded)] == [["v1.2.3", "v2"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"events": []}, "must be a JSON array of CloudEvents, got an object"),
        ([zot_structured(), {"type": "x"}], "every element must be a CloudEvent object"),
        ([zot_structured(data={"reference": "v1"})], "without 'name'"),
    ],
)
def test_batched_mode_errors_refuse_the_whole_batch(body: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse(body, {"content-type": "application/cloudevents-batch+json"})


def test_empty_batch_holds_no_push() -> None:
    result = parse([], {"content-type": "application/cloudevents-batch+json"})
    assert result.events == [] and result.rejected == []
    assert [i.reason for i in result.ignored] == ["empty batch: no event in it"]


# -- EventGrid around each mode ---------------------------------------------------------------------------------


def eventgrid(data: Any) -> dict[str, Any]:
    return {
        "id": "eg-1",
        "specversion": "1.0",
        "source": "HC.EG.custom",
        "type": "eg:custom",
        "datacontenttype": "application/json",
        "data": data,
    }


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(zot_structured(), id="structured"),
        pytest.param([zot_structured()], id="batch"),
        pytest.param(json.dumps(zot_structured()), id="structured-as-text"),
    ],
)
def test_eventgrid_envelope_around_cloudevents(data: Any, call: Caller, seeded: Any) -> None:
    statuses = []
    for envelope in (eventgrid(data), {"events": [eventgrid(data)]}):
        response = call(envelope, trigger="event")
        assert response.status == 200, response.body
        statuses.append(body_of(response)["results"][0]["status"])
    assert statuses == ["triggered", "duplicate"]  # the digest survives every envelope
    assert [c["body"]["imageTag"] for c in sync_calls(seeded)] == [["v1.2.3"]]


def test_eventgrid_data_base64_is_strict() -> None:
    good = base64.b64encode(raw(zot_structured())).decode()
    event = {k: v for k, v in eventgrid(None).items() if k != "data"}
    assert pushes(parse(event | {"data_base64": good})) == [("demo", "team/app", "v1.2.3", "zot")]
    with pytest.raises(PayloadError, match="not valid base64"):
        parse(event | {"data_base64": good[:-4] + "!!!!"})
