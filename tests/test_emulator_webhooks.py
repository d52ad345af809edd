"""Push webhooks: each format delivered to a loopback receiver, payloads as in the reference samples."""

from __future__ import annotations

import json
import time

import pytest

from tests.test_emulator_support import Receiver, call

DIGEST = "sha256:954b378c375d852eb3c63ab88978f640b4348b01c1b3456a024a81536dafbbf4"


def _push(emulator, **extra):
    body = {"namespace": "harbor", "repository": "team/alpine", "tag": "v1", "digest": DIGEST, **extra}
    status, _, result = call(emulator.url, "POST", "/_emulator/images", body, token=None)
    assert status == 200
    return result


def _subscribe(emulator, receiver, fmt, headers=None):
    body = {"url": receiver.url, "format": fmt, "headers": headers or {}}
    status, _, hook = call(emulator.url, "POST", "/_emulator/webhooks", body, token=None)
    assert status == 200
    return hook


def test_harbor_default_push_artifact(emulator):
    with Receiver() as rx:
        _subscribe(emulator, rx, "harbor", {"Authorization": "hook-secret-1"})
        result = _push(emulator)
        assert [(d["status"], d["ok"], d["error"]) for d in result["deliveries"]] == [(200, True, None)]
        got = rx.received[0]
        assert got["headers"]["Content-Type"] == "application/json"
        assert got["headers"]["Authorization"] == "hook-secret-1"
        payload = json.loads(got["body"])
        assert payload["type"] == "PUSH_ARTIFACT" and isinstance(payload["occur_at"], int)
        resource = payload["event_data"]["resources"][0]
        assert resource == {
            "digest": DIGEST,
            "tag": "v1",
            "resource_url": "swr.cn-north-4.myhuaweicloud.com/harbor/team/alpine:v1",
        }
        repo = payload["event_data"]["repository"]
        assert (repo["name"], repo["namespace"], repo["repo_full_name"]) == (
            "team/alpine",
            "harbor",
            "harbor/team/alpine",
        )
        assert repo["repo_type"] == "private" and isinstance(repo["date_created"], int)
    # the secret header is masked in the admin state
    state = call(emulator.url, "GET", "/_emulator/state", token=None)[2]
    assert "hook-secret-1" not in json.dumps(state)
    assert state["deliveries"][0]["status"] == 200


def test_harbor_cloudevents(emulator):
    with Receiver() as rx:
        hook = _subscribe(emulator, rx, "harbor-cloudevents")
        _push(emulator, region="ap-southeast-1")
        got = rx.received[0]
        assert got["headers"]["Content-Type"] == "application/cloudevents+json"
        ce = json.loads(got["body"])
        assert ce["specversion"] == "1.0" and ce["type"] == "harbor.artifact.pushed"
        assert ce["datacontenttype"] == "application/json" and ce["source"].endswith(
            f"/webhook/policies/{hook['id']}"
        )
        assert ce["id"] and ce["requestid"] and ce["time"].endswith("Z")
        assert ce["data"]["resources"][0]["tag"] == "v1"
        assert ce["data"]["resources"][0]["resource_url"].startswith("swr.ap-southeast-1.")
        assert ce["data"]["repository"]["repo_full_name"] == "harbor/team/alpine"


@pytest.mark.parametrize(
    ("fmt", "media"),
    [
        ("distribution", "application/vnd.docker.distribution.events.v2+json"),
        ("distribution-v1", "application/vnd.docker.distribution.events.v1+json"),
    ],
)
def test_distribution_envelope(emulator, fmt, media):
    with Receiver() as rx:
        _subscribe(emulator, rx, fmt, {"Authorization": "Bearer abcdefgh12345"})
        _push(emulator)
        got = rx.received[0]
        assert got["headers"]["Content-Type"] == media
        envelope = json.loads(got["body"])
        (event,) = envelope["events"]
        assert event["action"] == "push"
        target = event["target"]
        assert target["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
        assert (target["repository"], target["tag"], target["digest"]) == ("harbor/team/alpine", "v1", DIGEST)
        assert target["size"] == target["length"] and event["timestamp"].endswith("Z")
        assert set(event) >= {"id", "timestamp", "action", "target", "request", "actor", "source"}


def test_dockerhub(emulator):
    with Receiver() as rx:
        _subscribe(emulator, rx, "dockerhub")
        _push(emulator)
        payload = json.loads(rx.received[0]["body"])
        assert payload["push_data"]["tag"] == "v1" and isinstance(payload["push_data"]["pushed_at"], int)
        assert payload["repository"]["repo_name"] == "harbor/team/alpine"
        assert (
            payload["repository"]["namespace"] == "harbor" and payload["repository"]["name"] == "team/alpine"
        )


def test_failed_delivery_is_recorded_not_raised(emulator):
    with Receiver(status=503) as rx:
        _subscribe(emulator, rx, "harbor")
        result = _push(emulator)
        assert result["deliveries"][0]["status"] == 503 and result["deliveries"][0]["ok"] is False
    # nothing listens any more
    result = _push(emulator, tag="v2")
    assert result["deliveries"][0]["status"] is None and result["deliveries"][0]["error"]


def test_async_delivery(emulator):
    with Receiver() as rx:
        _subscribe(emulator, rx, "harbor")
        result = _push(emulator, **{"async": True})
        assert result["deliveries"] == [] and result["async"] is True
        assert rx.event.wait(5)
        for _ in range(250):
            if emulator.state.deliveries():
                break
            time.sleep(0.02)
        assert emulator.state.deliveries()[0]["status"] == 200


def test_push_creates_namespace_repository_and_random_digest(emulator):
    _, _, result = call(
        emulator.url,
        "POST",
        "/_emulator/images",
        {"namespace": "n1", "repository": "r", "tag": "t"},
        token=None,
    )
    assert result["digest"].startswith("sha256:") and len(result["digest"]) == 71
    assert emulator.state.tags("n1", "r") == {"t": result["digest"]}
    assert result["deliveries"] == []


def test_webhook_admin_validation_and_removal(emulator):
    assert (
        call(emulator.url, "POST", "/_emulator/webhooks", {"url": "http://x", "format": "quay"}, token=None)[
            0
        ]
        == 400
    )
    assert call(emulator.url, "POST", "/_emulator/webhooks", {"url": "ftp://x"}, token=None)[0] == 400
    hook = call(emulator.url, "POST", "/_emulator/webhooks", {"url": "http://127.0.0.1:9/x"}, token=None)[2]
    assert call(emulator.url, "GET", "/_emulator/webhooks", token=None)[2]["webhooks"][0]["id"] == hook["id"]
    assert call(emulator.url, "DELETE", f"/_emulator/webhooks/{hook['id']}", token=None)[0] == 200
    assert call(emulator.url, "DELETE", f"/_emulator/webhooks/{hook['id']}", token=None)[0] == 404
    assert emulator.state.webhooks() == []


def test_push_with_invalid_names_is_400(emulator):
    for body in (
        {"namespace": "Bad", "repository": "r", "tag": "t"},
        {"namespace": "ns", "repository": "r//x", "tag": "t"},
        {"namespace": "ns", "repository": "r", "tag": "bad tag"},
        {"namespace": "ns", "repository": "r", "tag": "t", "digest": "md5:1"},
        {"namespace": "ns", "repository": "r"},
    ):
        assert call(emulator.url, "POST", "/_emulator/images", body, token=None)[0] == 400
