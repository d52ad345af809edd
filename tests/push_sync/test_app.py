"""push-sync end to end against the SWR emulator: exact sync_images calls, answers, idempotency, faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.push_sync.conftest import DIGEST, EVENTS, Caller, body_of, sync_calls

SYNC_PATH = "/v2/manage/namespaces/demo/repos/team%24app/sync_images"


def wire(
    tags: list[str], region: str = "ap-southeast-1", ns: str = "demo", override: bool = False
) -> dict[str, Any]:
    return {"imageTag": tags, "override": override, "remoteNamespace": ns, "remoteRegionId": region}


def sample(name: str) -> dict[str, Any]:
    data = json.loads((EVENTS / name).read_text())
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(
    "name",
    [
        "harbor.json",
        "harbor-cloudevents.json",
        "distribution.json",
        "dockerhub.json",
        "quay.json",
        "generic.json",
        "eventgrid-harbor.json",
    ],
)
def test_each_format_makes_the_exact_call(name: str, call: Caller, seeded: Any) -> None:
    response = call(sample(name))
    assert response.status == 200, response.body
    assert sync_calls(seeded) == [{"method": "POST", "path": SYNC_PATH, "body": wire(["v1.2.3"])}]
    data = body_of(response)
    (result,) = data["results"]
    assert result["status"] == "triggered"
    assert (result["namespace"], result["repository"], result["tag"]) == ("demo", "team/app", "v1.2.3")
    assert result["targets"] == [
        {
            "region": "ap-southeast-1",
            "namespace": "demo",
            "override": False,
            "rules": ["dr"],
            "status": "triggered",
            "swr_list": [],
        }
    ]
    assert data["summary"]["calls"] == 1
    assert response.headers["Content-Type"] == "application/json"
    # the emulator created the sync job
    (job,) = seeded.state.jobs()
    assert (job["repoName"], job["tag"], job["remoteRegionId"]) == ("team/app", "v1.2.3", "ap-southeast-1")


def test_distribution_layer_push_is_listed_as_ignored(call: Caller) -> None:
    data = body_of(call(sample("distribution.json")))
    assert [i["reason"] for i in data["ignored"]] == [
        "push of a layer or blob (application/vnd.docker.container.image.rootfs.diff+x-gtar), not a manifest"
    ]


def test_hundred_event_envelope_makes_one_call_per_group(
    seeded: Any, caller_for: Callable[..., Caller]
) -> None:
    events = []
    for r in range(10):
        for t in range(10):
            seeded.state.add_image("demo", f"team/svc{r}", f"v{t}")
            events.append(
                {
                    "id": f"{r}-{t}",
                    "action": "push",
                    "target": {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": "sha256:" + f"{r}{t}".rjust(64, "0"),
                        "repository": f"demo/team/svc{r}",
                        "tag": f"v{t}",
                    },
                }
            )
            events.append(
                {
                    "id": f"l{r}-{t}",
                    "action": "push",
                    "target": {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": DIGEST,
                        "repository": f"demo/team/svc{r}",
                    },
                }
            )
    call = caller_for(SWR_ENDPOINT=seeded.url, SYNC_CONCURRENCY="4")
    response = call({"events": events})
    assert response.status == 200, response.body
    calls = sync_calls(seeded)
    assert len(calls) == 10  # the number of groups: one per repository (one target)
    assert sorted(c["path"] for c in calls) == sorted(
        f"/v2/manage/namespaces/demo/repos/team%24svc{r}/sync_images" for r in range(10)
    )
    assert all(c["body"] == wire([f"v{t}" for t in range(10)]) for c in calls)
    data = body_of(response)
    assert len(data["results"]) == 100 and {r["status"] for r in data["results"]} == {"triggered"}
    assert len(data["ignored"]) == 100
    assert data["summary"] == {
        "http_status": 200,
        "calls": 10,
        "ignored": 100,
        "statuses": {"triggered": 100},
    }


def test_several_targets_and_tags_are_grouped(seeded: Any, caller_for: Callable[..., Caller]) -> None:
    rules = [
        {"name": "a", "namespace": "demo", "targets": [{"region": "ap-southeast-1", "namespace": "demo"}]},
        {
            "name": "b",
            "repository": "team/*",
            "tags": {"include": [r"v\d+"]},
            "targets": [{"region": "ap-southeast-3", "namespace": "dr", "override": True}],
        },
    ]
    call = caller_for(SWR_ENDPOINT=seeded.url, SYNC_RULES=rules)
    response = call(
        {"namespace": "demo", "repository": "team/app", "tags": ["v2", "v1.2.3", "v2"], "digest": DIGEST}
    )
    assert response.status == 200, response.body
    calls = sync_calls(seeded)
    assert sorted(json.dumps(c["body"], sort_keys=True) for c in calls) == sorted(
        json.dumps(b, sort_keys=True)
        for b in (wire(["v2", "v1.2.3"]), wire(["v2"], "ap-southeast-3", "dr", True))
    )
    results = body_of(response)["results"]
    assert [(r["tag"], [t["rules"] for t in r["targets"]]) for r in results] == [
        ("v2", [["a"], ["b"]]),
        ("v1.2.3", [["a"]]),
    ]


# -- idempotency --------------------------------------------------------------------------------------------


def test_redelivery_answers_duplicate_without_a_new_call(call: Caller, seeded: Any) -> None:
    first = call(sample("harbor.json"), headers={"x-correlation-id": "delivery-1"})
    again = call(sample("harbor.json"), headers={"x-correlation-id": "delivery-2"})
    assert (first.status, again.status) == (200, 200)
    assert len(sync_calls(seeded)) == 1
    (result,) = body_of(again)["results"]
    assert result["status"] == "duplicate"
    assert result["first_correlation_id"] == "delivery-1"
    assert result["reason"].startswith("already triggered by delivery delivery-1 at ")
    assert result["targets"] == body_of(first)["results"][0]["targets"]
    # a new digest of the same tag is a new push
    newer = sample("harbor.json")
    newer["event_data"]["resources"][0]["digest"] = "sha256:" + "ef" * 32
    assert body_of(call(newer))["results"][0]["status"] == "triggered"
    assert len(sync_calls(seeded)) == 2


def test_a_tag_moved_back_to_an_earlier_digest_is_synced_again(call: Caller, seeded: Any) -> None:
    """A rollback (stable at A, then B, then A again) is a new push each time, not a redelivery of the first."""
    digests = ("sha256:" + "aa" * 32, "sha256:" + "bb" * 32, "sha256:" + "aa" * 32)
    statuses = []
    for digest in digests:
        event = sample("harbor.json")
        event["event_data"]["resources"][0]["digest"] = digest
        statuses.append(body_of(call(event))["results"][0]["status"])
    assert statuses == ["triggered", "triggered", "triggered"]
    assert len(sync_calls(seeded)) == 3
    again = sample("harbor.json")  # the last push, redelivered: a duplicate
    again["event_data"]["resources"][0]["digest"] = digests[-1]
    assert body_of(call(again))["results"][0]["status"] == "duplicate"
    assert len(sync_calls(seeded)) == 3


def test_without_a_push_identity_every_delivery_syncs(call: Caller, seeded: Any) -> None:
    # Quay sends no digest: a redelivery cannot be told from a re-push of the tag, so both sync.
    assert body_of(call(sample("quay.json")))["results"][0]["status"] == "triggered"
    assert body_of(call(sample("quay.json")))["results"][0]["status"] == "triggered"
    assert len(sync_calls(seeded)) == 2


def test_idempotency_window_zero_disables(seeded: Any, caller_for: Callable[..., Caller]) -> None:
    call = caller_for(SWR_ENDPOINT=seeded.url, IDEMPOTENCY_WINDOW_SECONDS="0")
    call(sample("harbor.json"))
    call(sample("harbor.json"))
    assert len(sync_calls(seeded)) == 2


def test_failures_are_not_remembered(call: Caller, seeded: Any) -> None:
    seeded.state.add_fault("sync_images", status=503, times=2)  # both attempts of the first delivery
    first = call(sample("harbor.json"))
    assert first.status == 503 and first.headers["Retry-After"] == "30"
    (result,) = body_of(first)["results"]
    assert result["status"] == "failed" and result["reason"].startswith("SWR unavailable: POST ")
    assert result["targets"][0]["retryable"] is True
    again = call(sample("harbor.json"))
    assert again.status == 200 and body_of(again)["results"][0]["status"] == "triggered"
    assert len(sync_calls(seeded)) == 3


def test_partial_failure_is_503_and_redelivery_finishes(call: Caller, seeded: Any) -> None:
    seeded.state.add_fault("team%24api/sync_images", status=503, times=2)
    envelope = {
        "events": [
            {
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": DIGEST,
                    "repository": "demo/team/app",
                    "tag": "v2",
                },
            },
            {
                "action": "push",
                "target": {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": DIGEST,
                    "repository": "demo/team/api",
                    "tag": "v1",
                },
            },
        ]
    }
    first = call(envelope)
    assert first.status == 503
    assert [r["status"] for r in body_of(first)["results"]] == ["triggered", "failed"]
    again = call(envelope)
    assert again.status == 200
    assert [r["status"] for r in body_of(again)["results"]] == ["duplicate", "triggered"]
    paths = [c["path"] for c in sync_calls(seeded)]
    assert paths.count(SYNC_PATH) == 1  # the synced tag was not synced again


def test_swr_200_list_is_kept_verbatim_and_claims_nothing(call: Caller, seeded: Any, log_lines: Any) -> None:
    # The tag does not exist in the source: the emulator answers 200 with it in the list. Was a 503 "failed"
    # ("SWR reported the tag as failed"): the seed pages disagree on what the list means (tags synced, or tags
    # that failed), so a 200 is "triggered" and the list is kept as SWR sent it, beside the result.
    response = call({"namespace": "demo", "repository": "team/app", "tags": ["v404"], "digest": DIGEST})
    assert response.status == 200
    (result,) = body_of(response)["results"]
    assert (result["status"], result["reason"]) == ("triggered", "sync triggered to 1 target(s)")
    (target,) = result["targets"]
    assert (target["status"], target["swr_list"]) == ("triggered", ["v404"])
    (decision,) = [line for line in log_lines() if line["message"] == "push decision"]
    assert decision["status"] == "triggered" and decision["targets"][0]["swr_list"] == ["v404"]
    (call_line,) = [line for line in log_lines() if line["message"] == "sync_images call"]
    assert call_line["triggered"] is True and call_line["swr_list"] == ["v404"]
    assert "synced" not in json.dumps(body_of(response)) and "synced" not in json.dumps(decision)


# -- errors from SWR ----------------------------------------------------------------------------------------


def test_unknown_repository_is_422(call: Caller, seeded: Any) -> None:
    response = call({"namespace": "demo", "repository": "team/ghost", "tags": ["v1"], "digest": DIGEST})
    assert response.status == 422
    (result,) = body_of(response)["results"]
    assert result["status"] == "failed"
    assert result["reason"].startswith(
        "unknown namespace or repository in SWR: POST /v2/manage/namespaces/demo/repos/team%24ghost/sync_images -> HTTP 404"
    )
    assert result["targets"][0]["retryable"] is False
    assert "Retry-After" not in response.headers


def test_persistent_503_is_retryable_503(call: Caller, seeded: Any) -> None:
    seeded.state.add_fault("sync_images", status=503, times=None)
    response = call(sample("generic.json"))
    assert response.status == 503 and response.headers["Retry-After"] == "30"
    assert len(sync_calls(seeded)) == 2  # HTTP_MAX_ATTEMPTS=2


def test_connection_reset_is_503(call: Caller, seeded: Any) -> None:
    seeded.state.add_fault("sync_images", reset=True, times=None)
    assert call(sample("generic.json")).status == 503


def test_swr_auth_failure_is_502(seeded: Any, caller_for: Callable[..., Caller]) -> None:
    call = caller_for(SWR_ENDPOINT=seeded.url, SWR_AUTH_TOKEN="wrong-token")
    response = call(sample("generic.json"))
    assert response.status == 502 and "Retry-After" in response.headers
    assert body_of(response)["results"][0]["reason"].startswith("SWR refused our credentials")


def test_a_redirect_from_swr_is_not_followed_and_is_a_retryable_502(call: Caller, seeded: Any) -> None:
    seeded.state.add_fault(
        "sync_images", status=302, headers={"Location": "http://127.0.0.1:9/elsewhere"}, body="", times=None
    )
    response = call(sample("generic.json"))
    assert response.status == 502 and "Retry-After" in response.headers
    (result,) = body_of(response)["results"]
    assert result["status"] == "failed" and result["targets"][0]["retryable"] is True
    assert result["reason"].startswith("SWR redirected the call (check SWR_ENDPOINT)")
    assert len(sync_calls(seeded)) == 1  # a redirect is not retried, nor followed


def test_swr_400_is_permanent(call: Caller, seeded: Any) -> None:
    seeded.state.add_fault(
        "sync_images",
        status=400,
        body=[{"errorCode": "SVCSTG.SWR.4000014", "errorMessage": "invalid parameter"}],
    )
    response = call(sample("generic.json"))
    assert response.status == 422
    assert "SVCSTG.SWR.4000014" in body_of(response)["results"][0]["reason"]


def test_invalid_names_are_422_and_never_sent(call: Caller, seeded: Any) -> None:
    response = call({"namespace": "demo", "repository": "Team/App", "tags": ["v1"]})
    assert response.status == 422
    (result,) = body_of(response)["results"]
    assert (result["status"], result["rule"]) == ("rejected", "repository:characters")
    assert sync_calls(seeded) == []


def test_no_credentials_is_a_config_error_and_releases_claims(
    seeded: Any, caller_for: Callable[..., Caller]
) -> None:
    call = caller_for(SWR_ENDPOINT=seeded.url, SWR_AUTH_TOKEN=None)
    response = call(sample("harbor.json"))
    assert response.status == 500 and body_of(response)["error"] == "configuration invalid"
    fixed = caller_for(SWR_ENDPOINT=seeded.url)
    assert fixed(sample("harbor.json")).status == 200  # not a "duplicate", not "in progress"


# -- answers ------------------------------------------------------------------------------------------------


def test_skipped_by_rules_is_200_without_calls(call: Caller, seeded: Any) -> None:
    response = call({"namespace": "demo", "repository": "team/app", "tags": ["v3-rc1"]})
    assert response.status == 200
    (result,) = body_of(response)["results"]
    assert result["status"] == "skipped" and result["reason"].startswith(
        "no rule matched: dr: tag matches exclude regex"
    )
    assert sync_calls(seeded) == []


def test_non_push_events_are_acknowledged(call: Caller, seeded: Any) -> None:
    response = call(sample("harbor.json") | {"type": "PULL_ARTIFACT"})
    assert response.status == 200
    data = body_of(response)
    assert data["results"] == [] and data["ignored"] == [
        {"source": "harbor", "reason": "event type PULL_ARTIFACT is not a push", "type": "PULL_ARTIFACT"}
    ]
    assert sync_calls(seeded) == []


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{nope", "malformed JSON"),
        (b"", "empty body"),
        (b'{"a": 1}', "unrecognised payload"),
        (b"[1, 2]", "expected a JSON object, got an array"),
    ],
)
def test_bad_input_is_400_naming_the_problem(call: Caller, raw: bytes, fragment: str) -> None:
    response = call(raw)
    assert response.status == 400
    data = body_of(response)
    assert fragment in data["error"] and data["correlation_id"]


def test_body_limit_413(seeded: Any, caller_for: Callable[..., Caller]) -> None:
    call = caller_for(SWR_ENDPOINT=seeded.url, MAX_BODY_BYTES="2048")
    big = {"namespace": "demo", "repository": "team/app", "tags": ["v1.2.3"], "pad": "x" * 3000}
    response = call(big)
    assert response.status == 413 and body_of(response)["error"] == "body larger than 2048 bytes"
    assert call(b"x" * 2048).status == 400  # at the limit: parsed (and refused as not JSON)
    assert sync_calls(seeded) == []


def test_get_is_405(call: Caller) -> None:
    response = call(b"", method="GET")
    assert response.status == 405 and response.headers["Allow"] == "POST"


def test_dry_run_env_and_query(seeded: Any, caller_for: Callable[..., Caller]) -> None:
    dry = caller_for(SWR_ENDPOINT=seeded.url, DRY_RUN="true")
    response = dry(sample("harbor.json"))
    assert response.status == 200
    data = body_of(response)
    assert data["dry_run"] is True
    (result,) = data["results"]
    assert result["status"] == "dry_run" and result["reason"] == "dry run: would sync to 1 target(s)"
    assert result["targets"] == [
        {"region": "ap-southeast-1", "namespace": "demo", "override": False, "rules": ["dr"]}
    ]
    normal = caller_for(SWR_ENDPOINT=seeded.url)
    assert (
        body_of(normal(sample("harbor.json"), query={"dry_run": ["true"]}))["results"][0]["status"]
        == "dry_run"
    )
    assert normal(sample("harbor.json"), query={"dry_run": ["maybe"]}).status == 400
    assert sync_calls(seeded) == []
    # a dry run does not mark the push as done
    assert (
        body_of(normal(sample("harbor.json"), query={"dry_run": ["false"]}))["results"][0]["status"]
        == "triggered"
    )


def test_decision_log_one_line_per_tag(call: Caller, log_lines: Callable[[], list[dict[str, Any]]]) -> None:
    call({"namespace": "demo", "repository": "team/app", "tags": ["v2", "v3-rc1"], "digest": DIGEST})
    call({"namespace": "demo", "repository": "team/x y", "tags": ["v1"]})
    lines = log_lines()
    decisions = [line for line in lines if line["message"] == "push decision"]
    assert [(d["tag"], d["status"]) for d in decisions] == [
        ("v2", "triggered"),
        ("v3-rc1", "skipped"),
        ("v1", "rejected"),
    ]
    synced, skipped, rejected = decisions
    assert synced["targets"][0]["rules"] == ["dr"] and synced["correlation_id"]
    assert skipped["reason"].startswith("no rule matched") and skipped["rules_not_applied"]
    assert rejected["rule"] == "repository:characters"
    assert any(line["message"] == "webhook payload" and line["level"] == "debug" for line in lines)
    assert all(line["message"] != "unhandled error" for line in lines)


# -- version selection ----------------------------------------------------------------------------------------


def test_a_push_outside_latest_n_is_skipped_with_its_reason(
    seeded: Any, caller_for: Callable[..., Caller]
) -> None:
    """latest: N needs the repository's tags: push-sync lists them from SWR once, and skips an old version."""
    rules = [{"tags": {"latest": 1}, "targets": [{"region": "ap-southeast-1", "namespace": "demo"}]}]
    call = caller_for(SWR_ENDPOINT=seeded.url, SYNC_RULES=rules)
    response = call(
        {"namespace": "demo", "repository": "team/app", "tags": ["v1.2.3", "v2"], "digest": DIGEST}
    )
    assert response.status == 200, response.body
    results = {r["tag"]: r for r in body_of(response)["results"]}
    assert results["v1.2.3"]["status"] == "skipped" and "outside latest 1" in results["v1.2.3"]["reason"]
    assert results["v2"]["status"] != "skipped"
    listings = [r for r in seeded.state.requests() if r["path"].split("?")[0].endswith("/team%24app/tags")]
    assert len(listings) == 1
    assert [c["body"]["imageTag"] for c in sync_calls(seeded)] == [["v2"]]
