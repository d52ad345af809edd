"""Scale-out: N push-sync processes sharing one real redis-server, as the platform runs them (each behind its own
APIG-like gateway, FunctionGraph adapter, state store ``STATE_REDIS_URL``), take a stream of deliveries.

    python -m tests.reliability.scaleout --deliveries 1000 --workers 4 --seed 20261206

Model. ``deliveries`` webhook deliveries (Harbor form, one tag each, digest known) are sent by 16 concurrent
senders to a random worker. About 60% are first deliveries of a new push; 25% are *redeliveries* of an earlier
push (later, to any worker: the registry timed out); 15% are *concurrent duplicates* (the same push sent to two
workers at the same moment). A sender retries a 409 (another delivery in progress) or a 503 after 0.1 s, as a
registry would after ``Retry-After``.

Figures (all three must be 0 / equal):

- ``lost``: pushes without a ``sync_images`` call for their tag;
- ``duplicate_syncs``: tags sent to ``sync_images`` more than once;
- ``intents``: intents in the store, which must equal the pushes (one per push and target), each recorded once.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests import realredis

SECRET = "scaleout-webhook-secret"
TOKEN = "scaleout-token"
SOURCE, TARGET = "cn-north-4", "ap-southeast-1"
RULES = [
    {
        "name": "dr",
        "namespace": "demo",
        "repository": "**",
        "targets": [{"region": TARGET, "namespace": "demo"}],
    }
]


def digest_of(text: str) -> str:
    import hashlib

    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def harbor(tag: str, digest: str) -> bytes:
    payload = {
        "type": "PUSH_ARTIFACT",
        "occur_at": 1700000000,
        "operator": "ci",
        "event_data": {
            "resources": [
                {"digest": digest, "tag": tag, "resource_url": f"registry.example.com/demo/team/app:{tag}"}
            ],
            "repository": {"name": "team/app", "namespace": "demo", "repo_full_name": "demo/team/app"},
        },
    }
    return json.dumps(payload).encode()


# -- worker ----------------------------------------------------------------------------------------------------


def worker() -> None:
    """One push-sync process: a gateway on a free port (printed), served until stdin closes."""
    from localdev.local_stack import Gateway, invoke_function

    gateway = Gateway("127.0.0.1", 0, invoke_function)
    gateway.serve_in_background()
    print(gateway.url, flush=True)
    sys.stdin.read()
    gateway.close()


# -- driver ----------------------------------------------------------------------------------------------------


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    return realredis.start(binary)


def post(url: str, body: bytes) -> int:
    req = urllib.request.Request(
        url + "/push-sync",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": SECRET},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            return int(resp.status)
    except urllib.error.HTTPError as err:
        err.read()
        return int(err.code)


def deliver(url: str, body: bytes, attempts: int = 50) -> int:
    for _ in range(attempts):
        status = post(url, body)
        if status not in (409, 503):
            return status
        time.sleep(0.1)
    return status


def plan(deliveries: int, rng: random.Random) -> list[list[str]]:
    """Rounds of concurrent sends; each send is a tag. Pushes are new tags; redeliveries and duplicates reuse them."""
    pushed: list[str] = []
    sends: list[list[str]] = []
    count = 0
    while count < deliveries:
        roll = rng.random()
        if roll < 0.60 or not pushed:
            tag = f"t{len(pushed):05d}"
            pushed.append(tag)
            sends.append([tag])
            count += 1
        elif roll < 0.85:
            sends.append([rng.choice(pushed)])
            count += 1
        elif count + 2 <= deliveries:
            tag = rng.choice(pushed[-20:])
            sends.append([tag, tag])  # the same delivery to two workers at the same moment
            count += 2
        else:
            sends.append([rng.choice(pushed)])
            count += 1
    return sends


def run(deliveries: int, workers: int, seed: int, shared_state: bool = True) -> dict[str, Any]:
    from localdev.emulator import Emulator

    rng = random.Random(seed)
    sends = plan(deliveries, rng)
    tags = sorted({t for group in sends for t in group})
    redis_proc, redis_url = start_redis()
    emu = Emulator(port=0, static_tokens=(TOKEN,), waiting_seconds=0.5, running_seconds=0.5)
    emu.start()
    procs: list[subprocess.Popen[str]] = []
    try:
        for tag in tags:
            emu.state.add_image("demo", "team/app", tag, digest_of(tag))
        emu.state.add_namespace("demo", region=TARGET)
        env = {
            **os.environ,
            "SWR_REGION": SOURCE,
            "SWR_ENDPOINT": emu.url,
            "SWR_AUTH_TOKEN": TOKEN,
            "WEBHOOK_SECRET": SECRET,
            "SYNC_RULES": json.dumps(RULES),
            "IDEMPOTENCY_WAIT_SECONDS": "5",
            "LOG_LEVEL": "ERROR",
        }
        if shared_state:  # else each process keeps its own in-memory state (what is lost without Redis)
            env["STATE_REDIS_URL"] = redis_url
        for _ in range(workers):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "tests.reliability.scaleout", "--worker"],
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        urls = [(p.stdout.readline() if p.stdout else "").strip() for p in procs]
        if not all(u.startswith("http://") for u in urls):
            raise SystemExit(f"a worker did not start: {urls}")
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        started = time.monotonic()

        def send(group: list[str]) -> None:
            targets = rng_pick(urls, len(group))
            body = harbor(group[0], digest_of(group[0]))
            if len(group) == 1:
                results = [deliver(targets[0], body)]
            else:
                barrier = threading.Barrier(len(group))
                results = []

                def one(url: str) -> None:
                    barrier.wait()
                    status = deliver(url, body)
                    with lock:
                        results.append(status)

                threads = [threading.Thread(target=one, args=(u,)) for u in targets]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            with lock:
                statuses.update(results)

        pick = random.Random(seed + 1)
        pick_lock = threading.Lock()

        def rng_pick(options: list[str], n: int) -> list[str]:
            with pick_lock:
                return (
                    pick.sample(options, n) if n <= len(options) else [pick.choice(options) for _ in range(n)]
                )

        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(send, sends))
        elapsed = time.monotonic() - started
        synced = Counter(
            tag
            for r in emu.state.requests()
            if r["path"].split("?")[0].endswith("/sync_images") and isinstance(r.get("body"), dict)
            for tag in r["body"].get("imageTag", [])
        )
        import redis

        client = redis.Redis.from_url(redis_url, decode_responses=True)
        intent_keys = list(client.scan_iter("swr-sync:intent:v1:*", count=1000))
        intents = [json.loads(client.get(k) or "{}") for k in intent_keys]
        client.close()
        intent_tags = Counter(i.get("tag") for i in intents)
        figures = {
            "workers": workers,
            "deliveries": sum(len(g) for g in sends),
            "pushes": len(tags),
            "redeliveries_and_duplicates": sum(len(g) for g in sends) - len(tags),
            "answers": dict(sorted(statuses.items())),
            "sync_images_tags": sum(synced.values()),
            "lost": sum(1 for t in tags if synced[t] == 0),
            "duplicate_syncs": sum(n - 1 for n in synced.values() if n > 1),
            "intents": len(intents),
            "intents_per_push_max": max(intent_tags.values(), default=0),
            "intents_missing": sum(1 for t in tags if intent_tags[t] == 0),
            "seconds": round(elapsed, 2),
        }
        return figures
    finally:
        for p in procs:
            if p.stdin:
                p.stdin.close()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        emu.stop()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20261206)
    parser.add_argument("--no-redis", action="store_true", help="each process on its own in-memory state")
    args = parser.parse_args(argv)
    if args.worker:
        worker()
        return 0
    figures = run(args.deliveries, args.workers, args.seed, shared_state=not args.no_redis)
    for key, value in figures.items():
        print(f"{key:>28}: {value}")
    ok = (
        figures["lost"] == 0
        and figures["duplicate_syncs"] == 0
        and figures["intents"] == figures["pushes"]
        and figures["intents_per_push_max"] == 1
    )
    print("OK: 0 lost, 0 duplicate sync_images, every intent recorded once" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
