"""The health page served as `swr-sync local` serves it: the local stack after its walkthrough (a real push,
a real sync job, a real monitor run proving it), plus states seeded through the store's own API."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from localdev.local_stack import LocalStack
from localdev.registry import FUNCTIONS, load
from shared.state import get_state, intents, reset_states

HOSTILE_REPO = "<script>window.pwned=1</script>"
HOSTILE_REASON = '<img src=x onerror="window.pwned=2"><b>boom</b>'


def _reset_functions() -> None:
    for name in FUNCTIONS:
        load(name).APP.reset()


def seed(now: datetime) -> None:
    """Cells in every state, one with markup where a hostile store value could hold it."""
    store = get_state(None)

    def intent(repo: str, tag: str, status: str, region: str, **extra: Any) -> intents.Intent:
        created = extra.pop("created_at", now - timedelta(minutes=5))
        return intents.Intent(
            id=intents.intent_id("team", repo, tag, region, "team", False, ""),
            namespace="team",
            repository=repo,
            tag=tag,
            region=region,
            target_namespace="team",
            created_at=created,
            last_action_at=created,
            status=status,
            **extra,
        )

    rows = [
        intent(
            "api",
            "v2",
            "failed",
            "ap-southeast-1",
            reason="job 17 failed: no space",
            job_id=17,
            delivery_id="d-17",
        ),
        intent(
            "api",
            "v2",
            "missing",
            "ap-southeast-3",
            reason="no job and no tag after 15 min",
            delivery_id="d-18",
        ),
        intent("web", "v3", "pending", "ap-southeast-1"),
        intent("web", "v3", "pending", "ap-southeast-3", job_id=21),
        intent("batch", "v1", "pending", "ap-southeast-1", created_at=now - timedelta(hours=3)),
        intent(HOSTILE_REPO, "v1", "failed", "ap-southeast-1", reason=HOSTILE_REASON),
    ]
    for row in rows:
        intents.record(store, row)
        if row.status != "pending":
            intents.save(store, row.model_copy(update={"settled_at": now}))


@pytest.fixture(scope="module")  # read-only tests: one walkthrough per module
def health_stack() -> Iterator[LocalStack]:
    saved = dict(os.environ)
    reset_states()
    _reset_functions()
    stack = LocalStack("127.0.0.1", 0, monitor_interval=0)
    stack.start()
    try:
        stack.walkthrough(lambda _line: None)  # demo/team/app:v1.0 proven in ap-southeast-1
        seed(datetime.now(timezone.utc))
        yield stack
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        _reset_functions()
        reset_states()


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers.items()), resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read().decode()
