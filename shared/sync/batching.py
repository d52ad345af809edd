"""Batch image syncs: one ``sync_images`` call per (source repository, destination, override), bounded concurrency.

``sync_images`` takes a list of tags for one source repository and one destination (region, namespace,
override), so N pushed tags of a repository going to one destination need exactly one call:

    items = [SyncItem("demo", "team/app", "v1", "cn-north-4", "demo", False), ...]
    outcomes = run_groups(group_syncs(items), sync_call(client), concurrency=8)
    for o in outcomes:
        o.group, o.triggered, o.swr_list, o.error

Outcomes come back in group order. A call that raises is reported with its exception (``error``). A call that
answers 200 has **triggered** the sync, no more: SWR's 200 body is a list of tags whose meaning the seed pages
disagree on (pages 000 and 001's table 4: tags synced successfully; 002 and 001's status table: tags that
failed), so it is kept verbatim as ``swr_list`` and never read as "synced" or "failed". Seed 000 names the two
ways to know: the status code, and the tag existing in the target organisation of the target region.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from shared.record import field, record

if TYPE_CHECKING:
    from shared.rules import Target
    from shared.swr.client import SwrClient
    from shared.swr.models import SyncImagesRequest

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


@record(frozen=True)
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
        from shared.swr.models import SyncImagesRequest

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


@record
class GroupOutcome:
    """The outcome of one sync_images call for one group."""

    group: SyncGroup
    swr_list: tuple[str, ...] = ()  # SWR's 200 answer, verbatim (order and repeats kept); meaning disputed
    error: BaseException | None = None
    duration_ms: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def triggered(self) -> bool:
        """SWR answered 200: the sync was triggered. Whether each tag arrives is not known from the answer."""
        return self.error is None

    @property
    def retryable(self) -> bool:
        """The call failed in a way worth retrying later (transient SWR or network error)."""
        return self.error is not None and bool(getattr(self.error, "retryable", False))


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
"""Runs one group's sync; returns SWR's 200 list (kept verbatim, see the module doc) or raises."""


def sync_call(client: SwrClient) -> SyncCall:
    """The usual ``call`` for :func:`run_groups`: ``client.sync_images`` for the group."""

    def call(group: SyncGroup) -> list[str]:
        return client.sync_images(group.namespace, group.repository, group.request())

    return call


def run_groups(
    groups: Sequence[SyncGroup], call: SyncCall, concurrency: int = DEFAULT_CONCURRENCY
) -> list[GroupOutcome]:
    """Run ``call(group)`` once per group, at most ``concurrency`` at a time; outcomes in group order.

    ``call`` returns SWR's 200 list (``None`` = none) or raises; an exception is caught and reported in the
    group's outcome, so one failing call never hides the others. Worker threads run in a
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
        listed = call(group)
    except Exception as err:
        return GroupOutcome(group, error=err, duration_ms=_ms(started))
    return GroupOutcome(group, swr_list=tuple(listed or ()), duration_ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 2)
