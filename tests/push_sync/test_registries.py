"""The registries push-sync reads, each from real payloads recorded with their source (tests/push_sync/fixtures):
detection that cannot confuse one for another, the pushes read (digest kept), and through the handler exactly
the sync_images calls expected, or the answer rule 1 asks for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from functions.push_sync import cehttp
from functions.push_sync.detect import detect, parse_payload
from functions.push_sync.model import PayloadError
from shared.swr.names import encode_repository
from tests.push_sync.conftest import EVENTS, Caller, body_of, sync_calls

FIXTURES = Path(__file__).parent / "fixtures"
ALL = {path.stem: json.loads(path.read_text()) for path in sorted(FIXTURES.glob("*.json"))}
DETECTOR = {  # format → the detector that must be the only one to claim its payloads
    "jfrog": "jfrog",
    "gitea": "gitea",
    "gitlab": "distribution",
    "acr": "acr",
    "alibaba-acr": "alibaba-acr",
    "ecr": "ecr",
    "gcp-artifact-registry": "pubsub",
}
SAMPLES = {  # events/push-sync samples of the older formats, and their detector
    "harbor.json": "harbor",
    "harbor-cloudevents.json": "cloudevents",
    "distribution.json": "distribution",
    "dockerhub.json": "dockerhub",
    "quay.json": "quay",
    "generic.json": "generic",
    "eventgrid-harbor.json": "eventgrid",
}
CATCH_ALL = [{"name": "all", "targets": [{"region": "ap-southeast-1", "namespace": "mirror"}]}]


def headers_of(fixture: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in fixture["headers"].items()}


def raw(fixture: dict[str, Any]) -> bytes:
    return json.dumps(fixture["body"]).encode()


def test_every_format_has_real_payloads_with_their_source() -> None:
    formats = {f["format"] for f in ALL.values()}
    assert formats == {"zot", *DETECTOR}  # the eight registries of this issue
    for name, fixture in ALL.items():
        assert len(fixture["source"]) > 30, name
        assert sum(k in fixture for k in ("expected", "ignored", "rejected")) == 1, name


@pytest.mark.parametrize("name", sorted(ALL))
def test_exactly_one_detector_claims_each_payload(name: str) -> None:
    fixture = ALL[name]
    if fixture["format"] == "zot":  # binary mode: the body is bare data, the headers say CloudEvent
        assert detect(fixture["body"]) == [] and cehttp.content_mode(headers_of(fixture)) == "binary"
        return
    assert detect(fixture["body"]) == [DETECTOR[fixture["format"]]]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_older_formats_are_claimed_by_their_own_detector_only(name: str) -> None:
    assert detect(json.loads((EVENTS / name).read_text())) == [SAMPLES[name]]


@pytest.mark.parametrize("name", sorted(ALL))
def test_payload_is_read_as_documented(name: str) -> None:
    fixture = ALL[name]
    result = parse_payload(raw(fixture), headers_of(fixture))
    assert result.format == fixture["format"]
    assert [[e.namespace, e.repository, e.tag, e.digest] for e in result.events] == fixture.get(
        "expected", []
    )
    assert [i.reason for i in result.ignored] == fixture.get("ignored", [])
    rejected = [[f"{r.namespace}/{r.repository}".strip("/"), r.tag, r.rule] for r in result.rejected]
    assert rejected == fixture.get("rejected", [])
    assert all(e.source == fixture["format"] for e in result.events)


@pytest.fixture
def call_all(emulator: Any, caller_for: Callable[..., Caller]) -> Caller:
    emulator.state.add_namespace("mirror", region="ap-southeast-1")
    for fixture in ALL.values():
        for ns, repo, tag, digest in fixture.get("expected", []):
            emulator.state.add_image(ns, repo, tag, digest or None)
    return caller_for(SWR_ENDPOINT=emulator.url, SYNC_RULES=CATCH_ALL)


@pytest.mark.parametrize("name", sorted(ALL))
def test_each_payload_makes_exactly_the_expected_calls(name: str, call_all: Caller, emulator: Any) -> None:
    fixture = ALL[name]
    response = call_all(fixture["body"], headers_of(fixture))
    data = body_of(response)
    expected = fixture.get("expected", [])
    assert sync_calls(emulator) == [
        {
            "method": "POST",
            "path": f"/v2/manage/namespaces/{ns}/repos/{encode_repository(repo)}/sync_images",
            "body": {
                "imageTag": [tag],
                "override": False,
                "remoteNamespace": "mirror",
                "remoteRegionId": "ap-southeast-1",
            },
        }
        for ns, repo, tag, _ in expected
    ]
    if "rejected" in fixture:
        assert response.status == 422, data
        assert [r["status"] for r in data["results"]] == ["rejected"]
    else:
        assert response.status == 200, data
        assert [(r["status"], r.get("digest", "")) for r in data["results"]] == [
            ("triggered", digest) for *_, digest in expected
        ]
        assert [i["reason"] for i in data["ignored"]] == fixture.get("ignored", [])


# -- each format's event-type table: anything it does not list is refused ------------------------------------


def _with(name: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = json.loads(json.dumps(ALL[name]["body"]))
    change(body)
    return body


UNKNOWN = [
    ("jfrog-docker-pushed", lambda b: b.update(event_type="retagged"), "unknown event_type 'retagged'"),
    ("jfrog-docker-pushed", lambda b: b.update(domain="artifact"), "unknown domain 'artifact'"),
    ("jfrog-docker-pushed", lambda b: b["data"].pop("image_name"), "without data.image_name"),
    ("gitea-package-created", lambda b: b.update(action="updated"), "unknown action 'updated'"),
    ("gitea-package-created", lambda b: b["package"].pop("owner"), "without package.owner.login"),
    ("acr-push-namespaced", lambda b: b.update(action="retag"), "unknown action 'retag'"),
    ("acr-push-namespaced", lambda b: b["target"].pop("tag") and b["target"].pop("digest"), "neither a tag"),
    (
        "ecr-image-push-namespaced",
        lambda b: b.update({"detail-type": "ECR Image Copy"}),
        "unknown detail-type",
    ),
    ("ecr-image-push-namespaced", lambda b: b.update(source="aws.s3"), "unknown source 'aws.s3'"),
    (
        "ecr-image-push-namespaced",
        lambda b: b["detail"].update(result="PENDING"),
        "expected SUCCESS or FAILURE",
    ),
    ("gitlab-push", lambda b: b["events"][0].update(action="promote"), "unknown action 'promote'"),
    ("gar-pubsub-insert", lambda b: b["message"].update(data="not base64!"), "'data' is not valid base64"),
    ("gar-pubsub-insert", lambda b: b["message"].pop("data"), "carries no data"),
]


@pytest.mark.parametrize(("name", "change", "message"), UNKNOWN, ids=[u[2] for u in UNKNOWN])
def test_unlisted_event_types_and_unreadable_pushes_are_refused(name: str, change: Any, message: str) -> None:
    with pytest.raises(PayloadError, match=message.replace("(", r"\(")):
        parse_payload(json.dumps(_with(name, change)).encode(), headers_of(ALL[name]))


def test_acknowledged_non_pushes_of_the_tables() -> None:
    def reasons(name: str, change: Callable[[dict[str, Any]], None]) -> list[str]:
        result = parse_payload(json.dumps(_with(name, change)).encode(), headers_of(ALL[name]))
        assert result.events == []
        return [i.reason for i in result.ignored]

    assert reasons("jfrog-docker-pushed", lambda b: b.update(event_type="promoted")) == [
        "event type docker.promoted is not a push"
    ]
    for action in ("chart_push", "chart_delete", "quarantine", "ping"):
        assert reasons("acr-push-namespaced", lambda b, a=action: b.update(action=a)) == [  # type: ignore[misc]
            f"action {action} is not a push"
        ]
    assert reasons("ecr-image-push-namespaced", lambda b: b["detail"].update(result="FAILURE")) == [
        "action PUSH with result FAILURE is not a push"
    ]
    assert reasons("ecr-image-push-namespaced", lambda b: b.update({"detail-type": "ECR Image Scan"})) == [
        "event type ECR Image Scan is not a push"
    ]
    assert reasons("gitea-package-created", lambda b: b.update(action="deleted")) == [
        "action deleted is not a push"
    ]
    assert reasons("ecr-image-push-namespaced", lambda b: b["detail"].pop("image-tag")) == [
        "digest-only push (no tag): nothing to sync"
    ]


def test_pubsub_envelope_carries_any_supported_payload() -> None:
    import base64

    harbor = json.loads((EVENTS / "harbor.json").read_text())
    body = _with(
        "gar-pubsub-insert",
        lambda b: b["message"].update(data=base64.b64encode(json.dumps(harbor).encode()).decode()),
    )
    result = parse_payload(json.dumps(body).encode(), {})
    assert [(e.namespace, e.repository, e.tag) for e in result.events] == [("demo", "team/app", "v1.2.3")]


# -- every event type of every table, through the handler --------------------------------------------------------


def _table_cases() -> list[tuple[str, dict[str, Any], dict[str, str], str]]:
    """(case id, body, headers, expected ignore reason) for every acknowledged non-push type of every format."""
    from functions.push_sync.parsers import acr, cloudevents, distribution, ecr, gitea, harbor, jfrog, zot

    harbor_default = json.loads((EVENTS / "harbor.json").read_text())
    harbor_ce = json.loads((EVENTS / "harbor-cloudevents.json").read_text())
    dist = json.loads((EVENTS / "distribution.json").read_text())
    zot_fx = ALL["zot-image-updated"]
    cases: list[tuple[str, dict[str, Any], dict[str, str], str]] = []
    for kind in sorted(harbor.OTHER_TYPES):
        cases.append(
            (f"harbor:{kind}", {**harbor_default, "type": kind}, {}, f"event type {kind} is not a push")
        )
    for kind in sorted(cloudevents.HARBOR_OTHERS):
        cases.append(
            (f"harbor-ce:{kind}", {**harbor_ce, "type": kind}, {}, f"event type {kind} is not a push")
        )
    for kind in sorted(zot.OTHERS):
        headers = headers_of(zot_fx) | {"ce-type": kind}
        cases.append((f"zot:{kind}", zot_fx["body"], headers, f"event type {kind} is not a push"))
    for action in sorted(distribution.OTHER_ACTIONS):
        event = {**dist["events"][-1], "action": action}
        cases.append((f"distribution:{action}", {"events": [event]}, {}, f"action {action} is not a push"))
    for action in sorted(acr.OTHERS):
        body = {**ALL["acr-push-namespaced"]["body"], "action": action}
        cases.append((f"acr:{action}", body, {}, f"action {action} is not a push"))
    for kind in sorted(jfrog.OTHERS):
        body = {**ALL["jfrog-docker-pushed"]["body"], "event_type": kind}
        cases.append((f"jfrog:{kind}", body, {}, f"event type docker.{kind} is not a push"))
    for action in sorted(gitea.OTHERS):
        body = {**ALL["gitea-package-created"]["body"], "action": action}
        cases.append((f"gitea:{action}", body, {}, f"action {action} is not a push"))
    for kind in sorted(ecr.OTHER_TYPES):
        body = {**ALL["ecr-image-push-namespaced"]["body"], "detail-type": kind}
        cases.append((f"ecr:{kind}", body, {}, f"event type {kind} is not a push"))
    return cases


TABLE = _table_cases()


@pytest.mark.parametrize(("body", "headers", "reason"), [c[1:] for c in TABLE], ids=[c[0] for c in TABLE])
def test_every_listed_non_push_is_acknowledged_without_a_call(
    body: dict[str, Any], headers: dict[str, str], reason: str, call_all: Caller, emulator: Any
) -> None:
    response = call_all(body, headers)
    data = body_of(response)
    assert response.status == 200, data
    assert data["results"] == [] and [i["reason"] for i in data["ignored"]] == [reason]
    assert sync_calls(emulator) == []


def test_other_gitea_events_are_acknowledged_by_their_header(call_all: Caller, emulator: Any) -> None:
    # Gitea's "Test Delivery" sends a git push payload; any event other than "package" is no image push.
    git_push = {"ref": "refs/heads/main", "before": "0" * 40, "after": "1" * 40, "commits": [], "sender": {}}
    for header in ("X-Gitea-Event", "X-Forgejo-Event"):
        response = call_all(git_push, {header: "push"})
        data = body_of(response)
        assert response.status == 200 and [i["reason"] for i in data["ignored"]] == [
            "event type gitea.push is not a push"
        ]
    assert sync_calls(emulator) == []
    # Without the header, the same body is unrecognised: a 400, never an ignore.
    assert call_all(git_push).status == 400


def test_azure_event_grid_cloudevent_around_an_acr_event() -> None:
    """Azure Event Grid's CloudEvents schema for ACR (docs.azure.cn/en-us/event-grid/event-schema-container-registry,
    type Microsoft.ContainerRegistry.ImagePushed): the data is the ACR webhook event, read as such."""
    data = json.loads(json.dumps(ALL["acr-push-namespaced"]["body"]))
    event = {
        "id": "831e1650-001e-001b-66ab-eeb76e069631",
        "source": "/subscriptions/<subscription-id>/resourceGroups/<resource-group-name>/providers/"
        "Microsoft.ContainerRegistry/registries/<name>",
        "subject": "demo/team/app:v1.2.3",
        "type": "Microsoft.ContainerRegistry.ImagePushed",
        "time": "2018-04-25T21:39:47.6549614Z",
        "specversion": "1.0",
        "data": data,
    }
    pushed = parse_payload(json.dumps(event).encode(), {"content-type": "application/cloudevents+json"})
    assert [(e.namespace, e.repository, e.tag, e.source) for e in pushed.events] == [
        ("demo", "team/app", "v1.2.3", "acr")
    ]
    deleted = {**event, "type": "Microsoft.ContainerRegistry.ImageDeleted", "data": ALL["acr-delete"]["body"]}
    result = parse_payload(json.dumps(deleted).encode(), {"content-type": "application/cloudevents+json"})
    assert result.events == [] and [i.reason for i in result.ignored] == ["action delete is not a push"]
