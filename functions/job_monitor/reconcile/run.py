"""Reconcile: plan every selected repository against its targets, then (with ``apply``) sync the difference.

Requests are bounded: one source tag listing and one listing per (target region, namespace) for each repository,
page by page; repositories are planned with bounded concurrency and streamed (only the plan's tags are held).
Applying groups the tags into ``sync_images`` calls (one per repository and destination, at most
``max_tags_per_call`` tags each) within a call budget and the deadline.

Resumable: each triggered (repository, target, tag) is remembered in ``memo`` for ``triggered_ttl`` seconds, so
a later run never re-syncs it while SWR copies it, and the last repository fully handled is kept as a cursor: a
run stopped by its budget or deadline continues after it next time (the cursor is cleared once a run reaches
the end).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from functions.job_monitor.reconcile.plan import RepoPlan, desired, difference
from shared.logs.redact import clip
from shared.record import field, record
from shared.rules import RuleSet
from shared.rules.selection import TagInfo
from shared.swr.errors import NotFound
from shared.swr.http import Deadline
from shared.sync.batching import SyncGroup, SyncItem, group_syncs, run_groups, sync_call

if TYPE_CHECKING:
    from shared.swr.client import SwrClient

CURSOR_TTL = 7 * 86400
TRIGGERED_TTL = 3600
MAX_LISTING_PAGES = 1_000


class Memo(Protocol):
    """The little state reconcile keeps between runs (keys are namespaced by the caller)."""

    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str, ttl_seconds: int) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryMemo:
    """A Memo for one process (tests, a warm instance)."""

    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def put(self, key: str, value: str, ttl_seconds: int) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


@record(frozen=True)
class Repo:
    """One repository to reconcile."""

    namespace: str
    repository: str

    @property
    def full(self) -> str:
        return f"{self.namespace}/{self.repository}"


@record
class Outcome:
    """What a reconcile run did; ``plans`` only when asked to keep them (the terminal's table/JSON)."""

    mode: str  # plan | apply
    repositories: int = 0
    planned: int = 0
    to_sync: int = 0
    already_triggered: int = 0
    calls: int = 0
    triggered: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)
    swr_lists: list[dict[str, Any]] = field(
        default_factory=list
    )  # non-empty 200 lists of sync_images, verbatim
    errors: list[dict[str, str]] = field(default_factory=list)
    listings: int = 0
    stopped: str | None = None  # budget | deadline, when the run did not reach the end
    resumed_after: str | None = None
    plans: list[RepoPlan] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.stopped is None and not self.errors

    def to_dict(self, with_plans: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mode": self.mode,
            "complete": self.complete,
            "repositories": self.repositories,
            "planned": self.planned,
            "to_sync": self.to_sync,
            "already_triggered": self.already_triggered,
            "calls": self.calls,
            "triggered": self.triggered,
            "listings": self.listings,
            "failed": self.failed[:100],
            "swr_lists": self.swr_lists[:100],
            "errors": self.errors[:100],
        }
        if self.stopped:
            out["stopped"] = self.stopped
        if self.resumed_after:
            out["resumed_after"] = self.resumed_after
        if with_plans:
            out["plans"] = [p.to_dict() for p in self.plans]
        return out


Progress = Callable[[int, int, int], None]  # (repositories done, total, calls made)


def scope_key(rules: RuleSet, repos: Sequence[Repo]) -> str:
    """Cursor key of one scope: the same rules and repositories resume each other's runs, nothing else."""
    described = [
        [
            rule.label,
            rule.namespace.text,
            rule.repository.text,
            [m.pattern for m in rule.tags.include],
            [m.pattern for m in rule.tags.exclude],
            repr(rule.tags.versions),
            [t.to_dict() for t in rule.targets],
        ]
        for rule in rules.rules
    ]
    text = json.dumps([described, [r.full for r in repos]], sort_keys=True)
    return "reconcile:v1:cursor:" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _triggered_key(repo: Repo, region: str, namespace: str, tag: str) -> str:
    return f"reconcile:v1:triggered:{repo.full}:{region}:{namespace}:{tag}"


class Counter:
    """Requests made, from several planning threads."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.value += n


def listing(client: SwrClient, namespace: str, repository: str, counter: Counter) -> list[TagInfo]:
    """Every tag of a repository (a missing repository has none), counting the requests made. A listing
    that repeats itself or never ends raises ListingIncomplete: the repository is reported, not guessed."""
    try:
        return [
            TagInfo(t.tag, t.updated or t.created, t.digest)
            for t in client.iter_tags(namespace, repository, 100, MAX_LISTING_PAGES, counter.add)
        ]
    except NotFound:
        counter.add()  # the request was made: a repository the region does not have yet
        return []


def plan_repo(
    repo: Repo,
    rules: RuleSet,
    source: SwrClient,
    target_client: Callable[[str], SwrClient],
    counter: Counter,
    source_region: str | None = None,
) -> RepoPlan:
    try:
        tags = listing(source, repo.namespace, repo.repository, counter)
    except Exception as err:
        return RepoPlan(
            repo.namespace, repo.repository, 0, error=f"source listing failed: {clip(str(err), 300)}"
        )
    want = desired(rules, repo.namespace, repo.repository, tags, source_region)
    plan = RepoPlan(repo.namespace, repo.repository, len(tags), skipped=want.skipped)
    for target in sorted(want.targets):
        try:
            present = listing(target_client(target.region), target.namespace, repo.repository, counter)
        except Exception as err:
            plan.error = f"listing of {target.region}/{target.namespace} failed: {clip(str(err), 300)}"
            continue
        plan.targets.append(
            difference(
                repo.namespace,
                repo.repository,
                target,
                want.targets[target],
                present,
                want.skipped_by_target[target],
            )
        )
    return plan


# Over 60 lines on purpose: its keyword-only parameters and docstring take a third; the body is one
# plan-then-apply pass that would only pass its state around if cut.
def reconcile(
    repos: Sequence[Repo],
    rules: RuleSet,
    source: SwrClient,
    target_client: Callable[[str], SwrClient],
    *,
    apply: bool = False,
    memo: Memo | None = None,
    deadline: Deadline | None = None,
    max_calls: int = 1_000,
    max_tags_per_call: int = 50,
    concurrency: int = 8,
    source_region: str | None = None,
    keep_plans: int
    | None = None,  # how many plans to keep in the outcome (None: all; memory is bounded by it)
    progress: Progress | None = None,
    triggered_ttl: int = TRIGGERED_TTL,
    on_triggered: Callable[[SyncGroup, list[str]], None] | None = None,
) -> Outcome:
    """Plan (and with ``apply`` sync) ``repos`` in order; see the module docstring."""
    memo = memo if memo is not None else MemoryMemo()
    deadline = deadline or Deadline(None)
    outcome = Outcome("apply" if apply else "plan", repositories=len(repos))
    ordered = sorted(repos, key=lambda r: (r.namespace, r.repository))
    cursor_key = scope_key(rules, ordered)
    start = 0
    if apply:
        after = _cursor(memo.get(cursor_key))
        if after is not None:
            start = next(
                (i for i, r in enumerate(ordered) if (r.namespace, r.repository) > after), len(ordered)
            )
            outcome.resumed_after = "/".join(after)
    counter = Counter()
    done = start
    for plan in _plans(ordered[start:], rules, source, target_client, counter, source_region, concurrency):
        if deadline.expired:
            outcome.stopped = "deadline"
            break
        repo = Repo(plan.namespace, plan.repository)
        outcome.planned += 1
        if plan.error is not None:
            outcome.errors.append({"repository": repo.full, "error": plan.error})
        items = _pending(plan, repo, memo, outcome)
        groups = group_syncs(items, max_tags=max_tags_per_call) if apply else []
        allowed = max_calls - outcome.calls
        if groups:
            _apply(groups[:allowed], source, memo, outcome, repo, concurrency, triggered_ttl, on_triggered)
        if len(groups) > allowed:
            # What was triggered is remembered; the rest of this repository comes first next run.
            outcome.stopped = "budget"
            if keep_plans is None or len(outcome.plans) < keep_plans:
                outcome.plans.append(plan)
            break
        if keep_plans is None or len(outcome.plans) < keep_plans:
            outcome.plans.append(plan)
        done += 1
        if apply and plan.error is None:
            memo.put(cursor_key, json.dumps([repo.namespace, repo.repository]), CURSOR_TTL)
        if progress is not None:
            progress(done, len(ordered), outcome.calls)
    outcome.listings = counter.value
    if apply and outcome.stopped is None:
        memo.delete(cursor_key)  # the end was reached: the next run starts from the beginning again
    return outcome


def _plans(
    repos: Sequence[Repo],
    rules: RuleSet,
    source: SwrClient,
    target_client: Callable[[str], SwrClient],
    counter: Counter,
    source_region: str | None,
    concurrency: int,
) -> Iterator[RepoPlan]:
    """Plans in repository order, ``concurrency`` repositories listed at a time (a window, not the whole set)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="reconcile") as pool:
        window = max(1, concurrency) * 2
        futures = []
        for repo in repos:
            futures.append(pool.submit(plan_repo, repo, rules, source, target_client, counter, source_region))
            if len(futures) >= window:
                yield futures.pop(0).result()
        while futures:
            yield futures.pop(0).result()


def _cursor(raw: str | None) -> tuple[str, str] | None:
    """The stored cursor, or None when absent or unreadable (then the run starts from the beginning)."""
    try:
        value = json.loads(raw) if raw else None
    except ValueError:
        return None
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return (value[0], value[1])
    return None


def _pending(plan: RepoPlan, repo: Repo, memo: Memo, outcome: Outcome) -> list[SyncItem]:
    items: list[SyncItem] = []
    for target_plan in plan.targets:
        target = target_plan.target
        for tag in target_plan.to_sync:
            if memo.get(_triggered_key(repo, target.region, target.namespace, tag)) is not None:
                outcome.already_triggered += 1
                continue
            items.append(SyncItem.for_target(repo.namespace, repo.repository, tag, target))
    outcome.to_sync += len(items)
    return items


def _apply(
    groups: list[SyncGroup],
    source: SwrClient,
    memo: Memo,
    outcome: Outcome,
    repo: Repo,
    concurrency: int,
    triggered_ttl: int,
    on_triggered: Callable[[SyncGroup, list[str]], None] | None = None,
) -> None:
    for result in run_groups(groups, sync_call(source), concurrency):
        outcome.calls += 1
        group = result.group
        if result.error is not None:
            outcome.failed.append(
                {**group.to_dict(), "error": clip(str(result.error), 300), "retryable": result.retryable}
            )
            continue
        # A 200 means "triggered"; SWR's list is kept verbatim beside it, never read as proof either way.
        for tag in group.tags:
            memo.put(_triggered_key(repo, group.region, group.target_namespace, tag), "1", triggered_ttl)
        outcome.triggered += len(group.tags)
        if on_triggered is not None:
            on_triggered(group, list(result.swr_list))  # intents: the monitor proves each tag arrived
        if result.swr_list:
            outcome.swr_lists.append({**group.to_dict(), "swr_list": list(result.swr_list)})
