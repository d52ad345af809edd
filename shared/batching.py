"""Batch image syncs: one ``sync_images`` call per (source repository, destination, override), bounded concurrency.

``sync_images`` takes a list of tags for one source repository and one destination (region, namespace,
override), so N pushed tags of a repository going to one destination need exactly one call:

    items = [SyncItem("demo", "team/app", "v1", "cn-north-4", "demo", False), ...]
    outcomes = run_groups(group_syncs(items), sync_call(client), concurrency=8)
    for o in outcomes:
        o.group, o.ok, o.synced_tags, o.failed_tags, o.error

Outcomes come back in group order. A call that raises is reported with its exception (``error``); a call that
answers with a list of tags reports those as ``failed_tags`` (SWR's 200 body is the list of tags that failed).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from shared.client import SwrClient
    from shared.models import SyncImagesRequest
    from shared.rules import Target

DEFAULT_CONCURRENCY = 8


class SyncItem(NamedTuple):
    """One tag to sync to one destination."""

    namespace: str
    repository: str
    tag: str
    region: str
    target_namespace: str
    override: bool = False

    @classmethod
    def for_target(cls, namespace: str, repository: str, tag: str, target: Target) -> SyncItem:
        return cls(namespace, repository, tag, target.region, target.namespace, target.override)


class GroupKey(NamedTuple):
    namespace: str
    repository: str
    region: str
    target_namespace: str
    override: bool


@dataclass(frozen=True)
class SyncGroup:
    """The tags of one source repository going to one destination: one ``sync_images`` call."""

    namespace: str
    repository: str
    region: str
    target_namespace: str
    override: bool
    tags: tuple[str, ...]

    @property
    def key(self) -> GroupKey:
        return GroupKey(self.namespace, self.repository, self.region, self.target_namespace, self.override)

    def request(self) -> SyncImagesRequest:
        from shared.models import SyncImagesRequest

        return SyncImagesRequest(
            image_tag=list(self.tags),
            override=self.override,
            remote_namespace=self.target_namespace,
            remote_region_id=self.region,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "repository": self.repository,
            "region": self.region,
            "target_namespace": self.target_namespace,
            "override": self.override,
            "tags": list(self.tags),
        }


@dataclass
class GroupOutcome:
    group: SyncGroup
    failed_tags: tuple[str, ...] = ()
    error: BaseException | None = None
    duration_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The call succeeded and SWR reported no failed tag."""
        return self.error is None and not self.failed_tags

    @property
    def synced_tags(self) -> tuple[str, ...]:
        if self.error is not None:
            return ()
        failed = set(self.failed_tags)
        return tuple(t for t in self.group.tags if t not in failed)

    @property
    def retryable(self) -> bool:
        """The failure is worth retrying later (transient SWR/network error, or tags SWR reported failed)."""
        if self.error is not None:
            return bool(getattr(self.error, "retryable", False))
        return bool(self.failed_tags)

    def tag_failed(self, tag: str) -> bool:
        return self.error is not None or tag in self.failed_tags


def group_syncs(items: Iterable[SyncItem | tuple[Any, ...]], max_tags: int | None = None) -> list[SyncGroup]:
    """Group items by (namespace, repository, region, target namespace, override).

    Groups are in order of first appearance; tags keep their first-appearance order, without duplicates.
    ``max_tags`` splits a group into several calls of at most that many tags.
    """
    if max_tags is not None and max_tags < 1:
        raise ValueError("max_tags must be at least 1")
    tags_by_key: dict[GroupKey, dict[str, None]] = {}
    for raw in items:
        item = raw if isinstance(raw, SyncItem) else SyncItem(*raw)
        key = GroupKey(
            item.namespace, item.repository, item.region, item.target_namespace, bool(item.override)
        )
        tags_by_key.setdefault(key, {})[item.tag] = None
    groups: list[SyncGroup] = []
    for key, tag_map in tags_by_key.items():
        tags = list(tag_map)
        step = max_tags or len(tags) or 1
        for start in range(0, len(tags), step):
            groups.append(SyncGroup(*key, tags=tuple(tags[start : start + step])))
    return groups


SyncCall = Callable[[SyncGroup], "Sequence[str] | None"]
"""Runs one group's sync; returns the failed tags (``None``/``[]`` = none failed) or raises."""


def sync_call(client: SwrClient) -> SyncCall:
    """The usual ``call`` for :func:`run_groups`: ``client.sync_images`` for the group."""

    def call(group: SyncGroup) -> list[str]:
        return client.sync_images(group.namespace, group.repository, group.request())

    return call


def run_groups(
    groups: Sequence[SyncGroup], call: SyncCall, concurrency: int = DEFAULT_CONCURRENCY
) -> list[GroupOutcome]:
    """Run ``call(group)`` once per group, at most ``concurrency`` at a time; outcomes in group order.

    ``call`` returns the tags that failed (``None``/``[]`` = all accepted) or raises; an exception is caught and
    reported in the group's outcome, so one failing call never hides the others. Worker threads run in a
    copy of the caller's context, so structured-log context (correlation id) carries over.
    """
    if not groups:
        return []
    workers = max(1, min(concurrency, len(groups)))
    if workers == 1:
        return [_run_one(group, call) for group in groups]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sync") as pool:
        futures = [pool.submit(contextvars.copy_context().run, _run_one, group, call) for group in groups]
        return [f.result() for f in futures]


def _run_one(group: SyncGroup, call: SyncCall) -> GroupOutcome:
    started = time.monotonic()
    try:
        failed = call(group)
    except Exception as err:
        return GroupOutcome(group, error=err, duration_ms=_ms(started))
    failed_tags = tuple(dict.fromkeys(str(t) for t in (failed or ())))
    return GroupOutcome(group, failed_tags=failed_tags, duration_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)
