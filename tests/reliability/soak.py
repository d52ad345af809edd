"""Soak: a seeded, randomized run of webhook deliveries through the local stack's gateway, with random SWR faults,
token expiries and redeliveries.

    python -m tests.reliability.soak --deliveries 1000 --seed 7

Model. A *push* is 1-3 new tags of one repository (digests known), delivered as one Harbor, Harbor CloudEvents or
Distribution webhook to ``POST /push-sync`` of :class:`localdev.local_stack.LocalStack` (push-sync's FunctionGraph
handler behind an APIG-like gateway; IAM password auth to the emulator, like production). Each push has a sender:

- ``harbor``: redelivers a failed delivery (non-2xx) up to 3 times;
- ``distribution``: redelivers until it gets a 2xx (bounded here at 8 redeliveries);
- ``fire-and-forget``: never redelivers.

Any sender may also redeliver a delivery that succeeded (its own client timed out): push-sync must answer
``duplicate`` without a new ``sync_images``. Before a delivery, with probability ``fault_rate``, one fault is
injected on ``sync_images`` for 1-4 requests (5xx, 429, busy, connection reset, malformed or empty 200), and now
and then every IAM token is expired. Redeliveries are interleaved with new pushes in random order; redeliveries
still pending when the delivery budget is spent never happen (that sender "gave up").

Only faults that SWR answers *without doing the work* are used. A request that times out on the client but is
completed by the server is inherently at-least-once (the retry syncs again) and would be counted as a duplicate;
the fault matrix covers that case instead.

Invariants checked at the end (``losses`` and ``duplicates`` must both be 0):

- every tag is synced in the emulator (a job exists for its target) or its last answer to a sender that did not
  redeliver was a failure (``reported failed``); a tag answered ``synced``/``duplicate`` without a job is a loss;
- no tag+target has more than one job: none was synced twice inside the idempotency window.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

SENDERS = {"harbor": 3, "distribution": 8, "fire-and-forget": 0}
SENDER_WEIGHTS = (0.5, 0.3, 0.2)
FORMATS = ("harbor", "harbor-cloudevents", "distribution")
BUSY = [{"errorCode": "SVCSTG.SWR.4090023", "errorMessage": "system resource busy", "detail": ""}]
FAULT_KINDS: dict[str, dict[str, Any]] = {
    "500": {"status": 500},
    "502": {"status": 502},
    "503": {"status": 503},
    "429": {"status": 429, "headers": {"Retry-After": "0"}},
    "409-busy": {"status": 409, "body": BUSY},
    "reset": {"reset": True},
    "malformed-json": {"status": 200, "body": '["v1",'},
    "empty-body": {"status": 200, "body": ""},
    "slow-within-timeout": {"delay": 0.02},
}
NAMESPACE = "demo"
TARGET = ("ap-southeast-1", "demo")  # the local stack's rule: demo/** (not *-dev) -> ap-southeast-1/demo
REPOSITORIES = tuple(f"soak/app-{i:02d}" for i in range(12))


@dataclass
class Push:
    id: int
    repository: str
    tags: list[tuple[str, str]]  # (tag, digest)
    sender: str
    format: str
    redeliveries_left: int
    deliveries: int = 0
    last_status: int = 0
    last_results: dict[str, str] = field(default_factory=dict)  # tag -> status in the last answer
    done: bool = False  # the sender got a 2xx (or gave up)


@dataclass
class Figures:
    seed: int
    deliveries: int = 0
    pushes: int = 0
    tags: int = 0
    faults_injected: int = 0
    faults_by_kind: Counter[str] = field(default_factory=Counter)
    token_expiries: int = 0
    redeliveries: int = 0
    redeliveries_after_success: int = 0
    answers: Counter[int] = field(default_factory=Counter)
    tags_synced: int = 0
    tags_reported_failed: int = 0
    losses: int = 0
    duplicates: int = 0
    sync_images_calls: int = 0
    sync_images_accepted: int = 0
    elapsed_s: float = 0.0
    peak_rss_kib: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "deliveries": self.deliveries,
            "pushes": self.pushes,
            "tags": self.tags,
            "faults_injected": self.faults_injected,
            "faults_by_kind": dict(sorted(self.faults_by_kind.items())),
            "token_expiries": self.token_expiries,
            "redeliveries": self.redeliveries,
            "redeliveries_after_success": self.redeliveries_after_success,
            "answers": {str(k): v for k, v in sorted(self.answers.items())},
            "tags_synced": self.tags_synced,
            "tags_reported_failed": self.tags_reported_failed,
            "losses": self.losses,
            "duplicates": self.duplicates,
            "sync_images_calls": self.sync_images_calls,
            "sync_images_accepted": self.sync_images_accepted,
            "elapsed_s": round(self.elapsed_s, 2),
            "peak_rss_kib": self.peak_rss_kib,
            "lost": self.lost[:20],
            "duplicated": self.duplicated[:20],
        }


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def payload(push: Push) -> dict[str, Any]:
    full = f"{NAMESPACE}/{push.repository}"
    if push.format == "distribution":
        return {
            "events": [
                {
                    "id": f"p{push.id}-{tag}",
                    "action": "push",
                    "target": {
                        "mediaType": "application/vnd.oci.image.manifest.v1+json",
                        "digest": digest,
                        "repository": full,
                        "tag": tag,
                    },
                }
                for tag, digest in push.tags
            ]
        }
    data = {
        "resources": [
            {"digest": digest, "tag": tag, "resource_url": f"swr.cn-north-4.myhuaweicloud.com/{full}:{tag}"}
            for tag, digest in push.tags
        ],
        "repository": {"name": push.repository, "namespace": NAMESPACE, "repo_full_name": full},
    }
    if push.format == "harbor-cloudevents":
        return {
            "specversion": "1.0",
            "id": f"p{push.id}",
            "source": "/projects/1/webhook/policies/1",
            "type": "harbor.artifact.pushed",
            "datacontenttype": "application/json",
            "data": data,
        }
    return {"type": "PUSH_ARTIFACT", "occur_at": 1767225600, "operator": "ci", "event_data": data}


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, body, headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        with err:
            status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def _rss(name: str) -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def run_soak(
    deliveries: int = 150,
    seed: int = 7,
    fault_rate: float = 0.35,
    expiry_rate: float = 0.02,
    duplicate_rate: float = 0.1,
) -> Figures:
    """Run the soak in this process (starts and stops a LocalStack; the environment is restored)."""
    from functions.push_sync import idempotency
    from localdev.local_stack import DEMO_WEBHOOK_SECRET, LocalStack
    from shared.logs import logs
    from tests.reliability.support import reset_functions

    rng = random.Random(seed)
    figures = Figures(seed)
    saved_env = dict(os.environ)
    devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed in finally
    stack = LocalStack(host="127.0.0.1", port=0, monitor_interval=0)
    started = time.monotonic()
    try:
        stack.start()
        os.environ.update(
            HTTP_MAX_ATTEMPTS="3",
            HTTP_BACKOFF_BASE="0.005",
            HTTP_BACKOFF_MAX="0.02",
            HTTP_TIMEOUT="5",
            LOG_LEVEL="ERROR",
            IDEMPOTENCY_WINDOW_SECONDS="3600",
        )
        reset_functions()
        idempotency.reset_stores()
        logs.configure("ERROR", devnull)
        assert stack.gateway is not None
        url = f"{stack.gateway.url}/push-sync"
        state = stack.emulator.state
        headers = {"Content-Type": "application/json", "Authorization": DEMO_WEBHOOK_SECRET}
        pushes: list[Push] = []
        pending: list[Push] = []
        serial = 0
        while figures.deliveries < deliveries:
            if pending and rng.random() < 0.5:
                push = pending.pop(rng.randrange(len(pending)))
                figures.redeliveries += 1
                if push.done:
                    figures.redeliveries_after_success += 1
            else:
                serial += 1
                repository = rng.choice(REPOSITORIES)
                tags = []
                for _ in range(rng.choice((1, 1, 1, 2, 3))):
                    tag = f"v{serial}-{len(tags)}"
                    digest = _digest(f"{repository}:{tag}:{seed}")
                    state.add_image(NAMESPACE, repository, tag, digest)
                    tags.append((tag, digest))
                sender = rng.choices(list(SENDERS), SENDER_WEIGHTS)[0]
                push = Push(serial, repository, tags, sender, rng.choice(FORMATS), SENDERS[sender])
                pushes.append(push)
                figures.pushes += 1
                figures.tags += len(tags)
            if rng.random() < fault_rate:
                kind = rng.choice(list(FAULT_KINDS))
                state.add_fault(r"/sync_images$", method="POST", times=rng.randint(1, 4), **FAULT_KINDS[kind])
                figures.faults_injected += 1
                figures.faults_by_kind[kind] += 1
            if rng.random() < expiry_rate:
                figures.token_expiries += 1
                state.expire_tokens()
            status, answer = _post(url, json.dumps(payload(push)).encode(), headers)
            state.clear_faults()  # a fault is for this delivery only
            figures.deliveries += 1
            figures.answers[status] += 1
            push.deliveries += 1
            results = answer.get("results", []) if isinstance(answer, dict) else []
            push.last_status = status
            push.last_results = {str(r.get("tag")): str(r.get("status")) for r in results}
            if 200 <= status < 300:
                push.done = True
                if rng.random() < duplicate_rate:
                    pending.append(push)  # the sender's own timeout: it redelivers a success
            elif push.redeliveries_left > 0:
                push.redeliveries_left -= 1
                pending.append(push)
            else:
                push.done = True  # gave up
        # -- the invariants --
        jobs = Counter(
            (j["repoName"], j["tag"])
            for j in state.jobs()
            if j["namespace"] == NAMESPACE and (j["remoteRegionId"], j["remoteNamespace"]) == TARGET
        )
        calls = [r for r in state.requests() if r["method"] == "POST" and r["path"].endswith("/sync_images")]
        figures.sync_images_calls = len(calls)
        figures.sync_images_accepted = sum(1 for r in calls if r["status"] == 200 and r["fault"] is None)
        for push in pushes:
            for tag, _ in push.tags:
                count = jobs[(push.repository, tag)]
                label = f"{NAMESPACE}/{push.repository}:{tag}"
                if count > 1:
                    figures.duplicates += 1
                    figures.duplicated.append(f"{label} ({count} jobs)")
                if count >= 1:
                    figures.tags_synced += 1
                elif push.last_status >= 300 and push.last_results.get(tag) not in ("triggered", "duplicate"):
                    figures.tags_reported_failed += 1
                else:
                    figures.losses += 1
                    figures.lost.append(f"{label}: answered {push.last_status} {push.last_results.get(tag)}")
    finally:
        figures.elapsed_s = time.monotonic() - started
        figures.peak_rss_kib = _rss("VmHWM")
        stack.stop()
        os.environ.clear()
        os.environ.update(saved_env)
        logs.reset()
        devnull.close()
        with contextlib.suppress(Exception):  # best effort: the run's figures matter more
            reset_functions()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.reliability.soak", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.35)
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    args = parser.parse_args(argv)
    figures = run_soak(args.deliveries, args.seed, args.fault_rate)
    data = figures.to_dict()
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        width = max(len(k) for k in data)
        for key, value in data.items():
            print(f"{key:<{width}}  {value}")
    ok = figures.losses == 0 and figures.duplicates == 0
    print("OK: no loss, no duplicate" if ok else "FAILED: see lost / duplicated", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
