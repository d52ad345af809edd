"""Replication intents: what push-sync asked SWR to copy, recorded so job-monitor can prove it arrived.

One intent per (source tag, push identity, target). push-sync writes it ``pending`` (or ``failed`` for a
permanent failure, with the reason) when it triggers ``sync_images``; job-monitor settles it: ``verified`` when the
tag is in the target region's repository (with the pushed digest where both are known), ``failed`` when its job
failed, ``missing`` when neither a job nor the tag appeared within ``VERIFY_AFTER``. Open intents are listed in an
index scored by creation time, so a run takes the oldest first and a bounded number of them.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import ClassVar, Literal

from shared.state import StateRecord, StateStore

INTENT_KIND = "intent"
OPEN_INDEX = "intent-open"
IntentStatus = Literal["pending", "verified", "failed", "missing", "superseded"]
CLOSED: frozenset[str] = frozenset({"verified", "failed", "missing", "superseded"})
# An intent outlives any plausible proof; a settled one stays readable for the health page, then expires.
INTENT_TTL = 7 * 86400
OPEN_INDEX_TTL = 30 * 86400


class Intent(StateRecord):
    KIND: ClassVar[str] = INTENT_KIND

    id: str
    namespace: str
    repository: str
    tag: str
    digest: str = ""
    identity: str = ""
    source_region: str = ""
    region: str  # target region ("" for a push rejected before any target was known)
    target_namespace: str
    override: bool = False
    created_at: datetime
    delivery_id: str = ""
    source: str = ""  # sender format (harbor, distribution, ...)
    swr_answer: list[str] | None = None  # SWR's 200 list (the failed tags), verbatim
    status: IntentStatus = "pending"
    reason: str = ""
    resyncs: int = 0
    last_action_at: datetime  # created, or the last re-sync: VERIFY_AFTER counts from here
    settled_at: datetime | None = None
    job_id: int | None = None
    alerted: bool = False

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    @property
    def target_key(self) -> str:
        """The (source tag, target) this intent is about, whatever the push."""
        return tag_target_id(self.namespace, self.repository, self.tag, self.region, self.target_namespace)

    @property
    def label(self) -> str:
        where = f"{self.region}/{self.target_namespace}" if self.region else "(no target)"
        return f"{self.namespace}/{self.repository}:{self.tag} -> {where}"


class Latest(StateRecord):
    """The newest intent of a (source tag, target): an older one still open is superseded, not failed."""

    KIND: ClassVar[str] = "intent-latest"
    intent_id: str
    created_at: datetime


def _hash(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()[:40]


def tag_target_id(namespace: str, repository: str, tag: str, region: str, target_namespace: str) -> str:
    return _hash(namespace, repository, tag, region, target_namespace)


def intent_id(
    namespace: str,
    repository: str,
    tag: str,
    region: str,
    target_namespace: str,
    override: bool,
    identity: str,
) -> str:
    """Stable id: every delivery of the same push to the same target records the same intent."""
    return _hash(namespace, repository, tag, region, target_namespace, override, identity)


# -- the health page's cells: one per (repository, target), the newest intent's state ----------------------

CELL_INDEX = "health-cells"


class Cell(StateRecord):
    """What the health page shows for one (source repository, target region and namespace)."""

    KIND: ClassVar[str] = "health-cell"
    namespace: str
    repository: str
    region: str
    target_namespace: str
    tag: str
    status: IntentStatus
    created_at: datetime  # of the newest intent: an older one settling later never hides a newer push
    updated_at: datetime
    last_success: datetime | None = None
    last_failure: str = ""
    job_id: int | None = None
    delivery_id: str = ""


def cell_id(namespace: str, repository: str, region: str, target_namespace: str) -> str:
    return _hash(namespace, repository, region, target_namespace)


def touch_cell(state: StateStore, intent: Intent) -> None:
    """Fold an intent's new state into its cell (read, merge, write; the index scores by last change)."""
    if not intent.region or intent.status == "superseded":
        return
    ident = cell_id(intent.namespace, intent.repository, intent.region, intent.target_namespace)
    when = intent.settled_at or intent.last_action_at
    old = state.read(Cell, ident)
    newest = old is None or intent.created_at >= old.created_at
    success = when if intent.status == "verified" else None
    failure = (
        f"{intent.tag}: {intent.reason or intent.status}" if intent.status in ("failed", "missing") else ""
    )
    cell = Cell(
        namespace=intent.namespace,
        repository=intent.repository,
        region=intent.region,
        target_namespace=intent.target_namespace,
        tag=intent.tag if newest or old is None else old.tag,
        status=intent.status if newest or old is None else old.status,
        created_at=intent.created_at if newest or old is None else old.created_at,
        updated_at=when,
        last_success=max((t for t in (success, old.last_success if old else None) if t), default=None),
        last_failure=failure or (old.last_failure if old else ""),
        job_id=intent.job_id if newest or old is None else old.job_id,
        delivery_id=intent.delivery_id if newest or old is None else old.delivery_id,
    )
    state.write(cell, ident, INTENT_TTL)
    state.index_add(CELL_INDEX, ident, when.timestamp(), INTENT_TTL)


def cells(state: StateStore, limit: int) -> tuple[list[Cell], int]:
    """Up to ``limit`` cells (expired ones dropped from the index), and how many more the index holds."""
    members = [member for member, _score in state.index_oldest(CELL_INDEX, limit)]
    out: list[Cell] = []
    for member, cell in zip(members, state.read_many(Cell, members), strict=True):
        if cell is None:
            state.index_remove(CELL_INDEX, member)
        else:
            out.append(cell)
    return out, max(0, state.index_size(CELL_INDEX) - len(members))


def record(state: StateStore, intent: Intent) -> bool:
    """Write a new intent once. A redelivery or concurrent duplicate finds it and writes nothing; a settled one
    of the same push (the same digest pushed again after another) is opened again. True if written."""
    # Record and open-index entry in one atomic step; failed ones are listed too (the monitor alerts them once).
    score = intent.created_at.timestamp()
    written = state.write_indexed(intent, intent.id, INTENT_TTL, OPEN_INDEX, score, OPEN_INDEX_TTL, True)
    if not written:
        existing = state.read(Intent, intent.id)
        if existing is not None and (
            not existing.closed or existing.status == intent.status == "failed"  # the same failure again
        ):
            return False
        state.write_indexed(intent, intent.id, INTENT_TTL, OPEN_INDEX, score, OPEN_INDEX_TTL)
    if intent.region:
        state.write(Latest(intent_id=intent.id, created_at=intent.created_at), intent.target_key, INTENT_TTL)
    touch_cell(state, intent)
    return True


def open_intents(state: StateStore, limit: int) -> list[Intent]:
    """The ``limit`` oldest open intents; index entries whose record expired or is unreadable are dropped."""
    out: list[Intent] = []
    for member, _score in state.index_oldest(OPEN_INDEX, limit):
        intent = state.read(Intent, member)
        if intent is None or (intent.closed and (intent.alerted or intent.status != "failed")):
            # expired, unreadable, or settled by a run that could not unlist it: not open any more
            state.index_remove(OPEN_INDEX, member)
            continue
        out.append(intent)
    return out


def save(state: StateStore, intent: Intent) -> None:
    """Write the intent's new state; it leaves the open index once it is closed."""
    state.write(intent, intent.id, INTENT_TTL)
    if intent.closed:
        state.index_remove(OPEN_INDEX, intent.id)
    touch_cell(state, intent)


def latest_id(state: StateStore, intent: Intent) -> str | None:
    latest = state.read(Latest, intent.target_key)
    return latest.intent_id if latest is not None else None
