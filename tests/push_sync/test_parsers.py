"""Parsers and detection: every format, non-push events, digest-only pushes, invalid names, bad payloads."""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from functions.push_sync.decide import decide, sync_items, unique_events
from functions.push_sync.detect import MAX_PUSHES, parse_payload
from functions.push_sync.model import ParseResult, PayloadError, PushEvent
from functions.push_sync.parsers.harbor import split_resource_url
from shared.rules import RuleSet
from tests.push_sync.conftest import RULES, load, parse, pushes

D = "sha256:" + "12" * 32


def reasons(result: ParseResult) -> list[str]:
    return [i.reason for i in result.ignored]


EXPECTED = ("demo", "team/app", "v1.2.3")


@pytest.mark.parametrize(
    ("name", "fmt", "source"),
    [
        ("harbor.json", "harbor", "harbor"),
        ("harbor-cloudevents.json", "harbor-cloudevents", "harbor-cloudevents"),
        ("distribution.json", "distribution", "distribution"),
        ("dockerhub.json", "dockerhub", "dockerhub"),
        ("quay.json", "quay", "quay"),
        ("generic.json", "generic", "generic"),
        ("eventgrid-harbor.json", "eventgrid", "harbor"),
    ],
)
def test_sample_events(name: str, fmt: str, source: str) -> None:
    result = parse(load(name))
    assert result.format == fmt
    assert pushes(result) == [(*EXPECTED, source)]
    assert not result.rejected


# -- Harbor / SWR EE ----------------------------------------------------------------------------------------


def test_harbor_non_push_types_are_ignored() -> None:
    for kind in (
        "PULL_ARTIFACT",
        "DELETE_ARTIFACT",
        "REPLICATION",
        "SCANNING_COMPLETED",
        "QUOTA_EXCEED",
        "TAG_RETENTION",
    ):
        data = load("harbor.json") | {"type": kind}
        result = parse(data)
        assert result.events == [] and reasons(result) == [f"event type {kind} is not a push"]


def test_harbor_replication_payload_is_ignored() -> None:
    body = {
        "type": "REPLICATION",
        "occur_at": 1680501904,
        "operator": "MANUAL",
        "event_data": {"replication": {"job_status": "Success"}},
    }
    assert reasons(parse(body)) == ["event type REPLICATION is not a push"]


def test_harbor_digest_only_push_is_skipped() -> None:
    data = load("harbor.json")
    data["event_data"]["resources"] = [
        {"digest": D, "tag": D, "resource_url": f"localhost/demo/team/app@{D}"}
    ]
    result = parse(data)
    assert result.events == [] and reasons(result) == ["digest-only push (no tag): nothing to sync"]
    data["event_data"]["resources"] = [{"digest": D, "tag": ""}]
    assert reasons(parse(data)) == ["digest-only push (no tag): nothing to sync"]


def test_harbor_defensive_fallbacks() -> None:
    # No repo_full_name: namespace + name; no tag: from resource_url; lower-case type; several resources.
    body = {
        "type": "push_artifact",
        "event_data": {
            "resources": [
                {"digest": D, "resource_url": "swr.example.com:443/demo/team/app:v7"},
                {"tag": "v8"},
            ],
            "repository": {"namespace": "demo", "name": "team/app"},
        },
    }
    result = parse(body)
    assert pushes(result) == [("demo", "team/app", "v7", "harbor"), ("demo", "team/app", "v8", "harbor")]
    assert result.events[0].digest == D
    assert reasons(result) == []
    # A resource that names neither tag nor digest cannot be read: the delivery is refused (it used to be
    # dropped silently), so that Harbor keeps it and an operator sees it.
    body["event_data"]["resources"].append("garbage")
    with pytest.raises(PayloadError, match="names neither a tag nor a digest"):
        parse(body)


def test_harbor_repository_only_in_resource_url() -> None:
    body = {
        "type": "PUSH_ARTIFACT",
        "event_data": {"resources": [{"resource_url": "host/demo/a/b/c:latest"}]},
    }
    assert pushes(parse(body)) == [("demo", "a/b/c", "latest", "harbor")]


def test_harbor_without_resources_is_refused() -> None:
    # Was a 200 "ignored": a push whose tags cannot be read is a 400 now (rule 1).
    with pytest.raises(PayloadError, match="without resources: cannot read the pushed tags"):
        parse({"type": "PUSH_ARTIFACT", "event_data": {}})


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("host/ns/repo:tag", ("ns/repo", "tag", "")),
        ("host:5000/ns/a/b:v1", ("ns/a/b", "v1", "")),
        (f"localhost/harbor/alpine@{D}", ("harbor/alpine", "", D)),
        ("https://host/ns/repo:1", ("ns/repo", "1", "")),
        ("host/ns/repo", ("ns/repo", "", "")),
        ("", ("", "", "")),
    ],
)
def test_split_resource_url(url: str, expected: tuple[str, str, str]) -> None:
    assert split_resource_url(url) == expected


def test_harbor_cloudevents_other_types_ignored() -> None:
    data = load("harbor-cloudevents.json") | {"type": "harbor.artifact.pulled"}
    assert reasons(parse(data)) == ["event type harbor.artifact.pulled is not a push"]


def test_cloudevents_binary_mode() -> None:
    headers = {"ce-specversion": "1.0", "ce-type": "harbor.artifact.pushed", "ce-id": "1", "ce-source": "/x"}
    result = parse(load("harbor.json")["event_data"], headers)
    assert pushes(result) == [(*EXPECTED, "harbor-cloudevents")]


# -- EventGrid ----------------------------------------------------------------------------------------------


def test_eventgrid_single_and_batch_wrapping_every_format() -> None:
    inner = [
        load(n) for n in ("harbor.json", "distribution.json", "dockerhub.json", "quay.json", "generic.json")
    ]
    inner.append(load("harbor-cloudevents.json"))
    events = [
        {"specversion": "1.0", "id": str(i), "source": "s", "type": "t", "data": d}
        for i, d in enumerate(inner)
    ]
    batch = parse({"events": events})
    assert batch.format == "eventgrid"
    assert [e.source for e in batch.events] == [
        "harbor",
        "distribution",
        "dockerhub",
        "quay",
        "generic",
        "harbor-cloudevents",
    ]
    single = parse(events[0])
    assert pushes(single) == [(*EXPECTED, "harbor")]


def test_eventgrid_data_as_string_and_base64() -> None:
    harbor = load("harbor.json")
    as_text = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": json.dumps(harbor)}
    as_b64 = {
        "specversion": "1.0",
        "id": "2",
        "source": "s",
        "type": "t",
        "data_base64": base64.b64encode(json.dumps(harbor).encode()).decode(),
    }
    assert pushes(parse(as_text)) == [(*EXPECTED, "harbor")]
    assert pushes(parse(as_b64)) == [(*EXPECTED, "harbor")]


def test_eventgrid_events_of_unknown_types_are_refused() -> None:
    # Was a 200 "ignored": an event of a type no table lists could be a push, so it is a 400 naming why.
    obs = {
        "events": [
            {
                "id": "4b2",
                "specversion": "1.0",
                "source": "HC.OBS",
                "type": "object:put",
                "data": {"name": "test01", "state": "enable"},
            }
        ]
    }
    with pytest.raises(PayloadError) as err:
        parse(obs)
    assert str(err.value).startswith(
        "CloudEvent object:put (source HC.OBS): data is not a recognised push payload (unrecognised payload"
    )
    with pytest.raises(PayloadError, match="carries no data, and its type is not a known event type"):
        parse({"specversion": "1.0", "type": "x", "id": "1", "source": "s"})


def test_cloudevent_with_harbor_shaped_data_in_another_type() -> None:
    data = load("harbor.json")["event_data"]
    pushed = parse(
        {"specversion": "1.0", "id": "1", "source": "swr", "type": "swr.artifact.pushed", "data": data}
    )
    assert pushes(pushed) == [(*EXPECTED, "cloudevents-harbor")]
    # Was a 200 "ignored": a type that does not say push is not thereby a non-push.
    with pytest.raises(PayloadError, match="Harbor-shaped data, but the type does not say push"):
        parse(
            {"specversion": "1.0", "id": "1", "source": "swr", "type": "swr.artifact.deleted", "data": data}
        )


def test_cloudevents_nesting_is_bounded() -> None:
    event: dict[str, Any] = load("harbor.json")
    for i in range(6):
        event = {"specversion": "1.0", "id": str(i), "source": "s", "type": "t", "data": event}
    with pytest.raises(PayloadError, match="nested too deeply"):
        parse(event)


# -- Distribution -------------------------------------------------------------------------------------------

MANIFESTS = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
]


def dist(action: str, media: str, repo: str = "demo/team/app", tag: str | None = "v1") -> dict[str, Any]:
    target: dict[str, Any] = {"mediaType": media, "digest": D, "repository": repo}
    if tag is not None:
        target["tag"] = tag
    return {"id": "x", "action": action, "target": target}


@pytest.mark.parametrize("media", MANIFESTS)
def test_distribution_manifest_types(media: str) -> None:
    assert pushes(parse({"events": [dist("push", media)]})) == [("demo", "team/app", "v1", "distribution")]


def test_distribution_ignores_layers_pulls_deletes_mounts_and_digest_pushes() -> None:
    m = MANIFESTS[0]
    envelope = {
        "events": [
            dist("push", "application/vnd.docker.container.image.rootfs.diff+x-gtar", tag=None),
            dist("push", "application/vnd.oci.image.layer.v1.tar+gzip", tag=None),
            dist("pull", m),
            dist("delete", m),
            dist("mount", m),
            dist("push", m, tag=None),
            dist("push", m, tag="v2"),
        ]
    }
    result = parse(envelope)
    assert pushes(result) == [("demo", "team/app", "v2", "distribution")]
    assert reasons(result) == [
        "push of a layer or blob (application/vnd.docker.container.image.rootfs.diff+x-gtar), not a manifest",
        "push of a layer or blob (application/vnd.oci.image.layer.v1.tar+gzip), not a manifest",
        "action pull is not a push",
        "action delete is not a push",
        "action mount is not a push",
        "digest-only push (no tag): nothing to sync",
    ]


def test_distribution_unreadable_or_unknown_events_are_refused() -> None:
    # Were 200 "ignored": a push with neither mediaType nor tag, or an unknown action, could be a push.
    unreadable = {"id": "y", "action": "push", "target": {"repository": "demo/x"}}
    with pytest.raises(PayloadError, match="has neither mediaType nor tag"):
        parse({"events": [dist("push", MANIFESTS[0]), unreadable]})
    with pytest.raises(PayloadError, match="unknown action 'replicate'"):
        parse({"events": [dist("replicate", MANIFESTS[0])]})


def test_distribution_single_segment_repository_is_rejected() -> None:
    result = parse({"events": [dist("push", MANIFESTS[0], repo="hello-world")]})
    (rejected,) = result.rejected
    assert rejected.rule == "repository:full-name" and rejected.tag == "v1"
    assert "expected 'namespace/repository'" in rejected.reason


def test_distribution_media_type_with_parameters() -> None:
    event = dist("push", MANIFESTS[2] + "; charset=utf-8")
    assert pushes(parse({"events": [event]})) == [("demo", "team/app", "v1", "distribution")]


# -- Docker Hub, Quay, generic ------------------------------------------------------------------------------


def test_dockerhub_uses_pushed_at_as_identity() -> None:
    (event,) = parse(load("dockerhub.json")).events
    assert event.digest == "" and event.version == "1700000000" and event.identity == "1700000000"


def test_quay_tags_as_map_and_empty() -> None:
    data = load("quay.json") | {"updated_tags": {"latest": "b7f6f2d6e5", "v2": D}}
    result = parse(data)
    assert pushes(result) == [("demo", "team/app", "latest", "quay"), ("demo", "team/app", "v2", "quay")]
    assert [e.digest for e in result.events] == ["", D]
    assert reasons(parse(load("quay.json") | {"updated_tags": []})) == ["no updated tags"]
    with pytest.raises(PayloadError, match="updated_tags is a number, not a list or map"):
        parse(load("quay.json") | {"updated_tags": 5})  # was a 200 "ignored"


def test_quay_repository_without_namespace() -> None:
    data = {"repository": "app", "namespace": "demo", "updated_tags": ["v1"]}
    assert pushes(parse(data)) == [("demo", "app", "v1", "quay")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"namespace": "demo", "repository": "a", "tags": "v1"},
            "'tags' must be a non-empty list of strings",
        ),
        ({"namespace": "demo", "repository": "a", "tags": []}, "'tags' must be a non-empty list of strings"),
        ({"namespace": 1, "repository": "a", "tags": ["v1"]}, "'namespace' must be a string"),
        (
            {"namespace": "demo", "repository": "a", "tags": ["v1"], "digest": "md5:x"},
            "'digest' must be a string like sha256",
        ),
        ({"namespace": "demo", "repository": "a", "tags": ["v1"], "tga": 1}, "unknown key(s) ['tga']"),
    ],
)
def test_generic_errors(body: dict[str, Any], message: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse(body)
    assert message in str(info.value)


def test_invalid_names_and_tags_are_rejected_with_the_rule() -> None:
    body = {"namespace": "Demo", "repository": "team/app", "tags": ["v1"]}
    (r,) = parse(body).rejected
    assert (r.rule, r.tag) == ("namespace:characters", "v1")
    body = {"namespace": "demo", "repository": "team//app", "tags": ["ok", "bad tag", "-x"]}
    result = parse(body)
    assert [x.rule for x in result.rejected] == ["repository:adjacent-separators"] * 3
    body = {"namespace": "demo", "repository": "team/app", "tags": ["ok", "bad tag", "x" * 200]}
    result = parse(body)
    assert pushes(result) == [("demo", "team/app", "ok", "generic")]
    assert [x.rule for x in result.rejected] == ["tag", "tag"]
    assert all(len(x.tag) < 100 for x in result.rejected)


# -- malformed ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty body"),
        (b"   ", "empty body"),
        (b"{", "malformed JSON: Expecting property name enclosed in double quotes at line 1 column 2"),
        (b"\xff\xfe", "body is not UTF-8 text"),
        (b"[" * 100_000, "malformed JSON: nested too deeply"),
        (b"[]", "unrecognised payload: expected a JSON object, got an array"),
        (b"null", "unrecognised payload: expected a JSON object, got null"),
        (b'"x"', "unrecognised payload: expected a JSON object, got a string"),
        (b'{"hello": 1}', "unrecognised payload: not Harbor/SWR EE"),
        (b'{"events": [{"foo": 1}]}', "'events' must be a list of Distribution events"),
    ],
)
def test_malformed(raw: bytes, message: str) -> None:
    with pytest.raises(PayloadError) as info:
        parse_payload(raw)
    assert message in str(info.value)


def test_unrecognised_names_top_level_keys() -> None:
    with pytest.raises(PayloadError, match=r"top-level keys: \['a', 'b'\]"):
        parse_payload(b'{"b": 1, "a": 2}')


def test_too_many_pushes() -> None:
    body = {"namespace": "demo", "repository": "a", "tags": [f"v{i}" for i in range(MAX_PUSHES + 1)]}
    with pytest.raises(PayloadError, match="too many pushed tags"):
        parse(body)


def test_utf8_bom_accepted() -> None:
    assert parse_payload(b"\xef\xbb\xbf" + json.dumps(load("generic.json")).encode()).events


# -- the emulator's own webhook payloads --------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt", ["harbor", "harbor-cloudevents", "distribution", "distribution-v1", "dockerhub"]
)
def test_emulator_webhook_payloads(fmt: str) -> None:
    from localdev.emulator import webhooks

    now = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    event = webhooks.PushEvent("cn-north-4", "demo", "team/app", "v9", D, 1234, now, now, "ci")
    body, headers = webhooks.build(fmt, event)
    result = parse_payload(body, {k.lower(): v for k, v in headers.items()})
    assert [(e.namespace, e.repository, e.tag) for e in result.events] == [("demo", "team/app", "v9")]
    if fmt != "dockerhub":
        assert result.events[0].digest == D


# -- decide -------------------------------------------------------------------------------------------------


def ev(tag: str, repo: str = "team/app", digest: str = D, ns: str = "demo") -> PushEvent:
    return PushEvent(ns, repo, tag, digest, "generic")


def test_a_skipped_tag_names_the_first_rules_only() -> None:
    """1,000 skipped tags x 200 rules once made a 9.5 MB answer: the reason names 5 rules and counts the rest."""
    rules = RuleSet.parse(
        json.dumps(
            [
                {
                    "name": f"r{i}",
                    "namespace": f"other{i}",
                    "targets": [{"region": "ap-southeast-1", "namespace": "x"}],
                }
                for i in range(200)
            ]
        )
    )
    (d,) = decide([ev("v1")], rules, "cn-north-4")
    assert d.skipped and d.reason.startswith("no rule matched: r0: namespace does not match 'other0'; r1: ")
    assert d.reason.endswith("r4: namespace does not match 'other4'; and 195 more rule(s)")
    assert len(d.rejections) == 200  # the full list stays available to the decision log (capped there at 20)


def test_decide_targets_and_reasons() -> None:
    rules = RuleSet.parse(json.dumps(RULES))
    d1, d2, d3 = decide([ev("v1"), ev("v1-rc2"), ev("v1", repo="solo")], rules, "cn-north-4")
    assert [t.region for t in d1.targets] == ["ap-southeast-1"] and not d1.skipped
    assert d2.skipped and d2.reason == r"no rule matched: dr: tag matches exclude regex '.*-rc\\d*'"
    assert d3.reason == "no rule matched: dr: repository does not match 'team/**'"
    assert [tuple(i) for i in sync_items([d1, d2, d3])] == [
        ("demo", "team/app", "v1", "ap-southeast-1", "demo", False)
    ]


def test_decide_drops_self_targets() -> None:
    rules = RuleSet.parse(
        json.dumps(
            [
                {
                    "targets": [
                        {"region": "cn-north-4", "namespace": "demo"},
                        {"region": "cn-north-4", "namespace": "copy"},
                    ]
                }
            ]
        )
    )
    (d,) = decide([ev("v1")], rules, "cn-north-4")
    assert [t.namespace for t in d.targets] == ["copy"]
    only_self = RuleSet.parse(json.dumps([{"targets": [{"region": "cn-north-4", "namespace": "demo"}]}]))
    (d,) = decide([ev("v1")], only_self, "cn-north-4")
    assert d.skipped and d.reason == "the only matching targets are the source repository itself"
    (d,) = decide([ev("v1")], only_self, None)  # source region unknown (SWR_ENDPOINT only): kept
    assert not d.skipped


def test_unique_events_keeps_first_position_and_last_digest() -> None:
    other = "sha256:" + "cd" * 32
    events = unique_events([ev("a"), ev("b"), ev("a", digest=other), ev("a", digest="")])
    assert [(e.tag, e.digest) for e in events] == [("a", other), ("b", D)]


def test_decide_without_rules() -> None:
    (d,) = decide([ev("v1")], RuleSet(), None)
    assert d.reason == "no sync rules configured"


def test_parse_result_is_not_mutated_by_copy() -> None:
    data = load("harbor.json")
    before = copy.deepcopy(data)
    parse(data)
    assert data == before
