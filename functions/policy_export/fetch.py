"""Bounded concurrent listing of sync_repo policies, one request per repository.

The workers share one client: its auth providers, urllib transport, Deadline and (locked) CallStats are safe
to share between threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed

from functions.policy_export.model import FetchError, Policy, RepoRef
from shared.logs.logs import get_logger
from shared.record import field, record
from shared.swr.client import SwrClient
from shared.swr.http import CallStats

Progress = Callable[[int, int], None]


@record
class FetchOutcome:
    """What fetching the policies returned: the policies, the errors and the call statistics."""

    policies: list[Policy] = field(default_factory=list)
    errors: list[FetchError] = field(default_factory=list)
    stats: CallStats = field(default_factory=CallStats)
    max_in_flight: int = 0
    duration_ms: float = 0.0


class _Tracker:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


def fetch_policies(
    client: SwrClient, refs: list[RepoRef], concurrency: int = 16, progress: Progress | None = None
) -> FetchOutcome:
    """List the policies of every repository in ``refs`` with at most ``concurrency`` requests in flight.

    A repository whose listing fails (after the client's retries) becomes a :class:`FetchError`; the others
    are unaffected. Results are returned in no particular order (callers sort).
    """
    started = time.monotonic()
    outcome = FetchOutcome()
    if not refs:
        return outcome
    log = get_logger()
    tracker = _Tracker()
    before = client.stats.snapshot()

    def one(ref: RepoRef) -> tuple[RepoRef, list[Policy], FetchError | None]:
        tracker.enter()
        try:
            items = client.list_sync_repos(ref.namespace, ref.repository)
            return ref, [Policy.from_sync_repo(ref, item) for item in items], None
        except Exception as err:  # every failure is reported per repository, never dropped
            return ref, [], FetchError.from_exception(ref, err)
        finally:
            tracker.leave()

    workers = max(1, min(concurrency, len(refs)))
    done = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="policy-export") as pool:
        futures = [pool.submit(one, ref) for ref in refs]
        for future in as_completed(futures):
            ref, policies, error = future.result()
            outcome.policies.extend(policies)
            if error is not None:
                outcome.errors.append(error)
                log.warning(
                    "policy listing failed",
                    repository=str(ref),
                    kind=error.kind,
                    status=error.status,
                    code=error.code,
                    retryable=error.retryable,
                )
            done += 1
            if progress is not None:
                progress(done, len(refs))
    outcome.stats = client.stats.since(before)
    outcome.max_in_flight = tracker.max_in_flight
    outcome.duration_ms = round((time.monotonic() - started) * 1000, 2)
    return outcome
