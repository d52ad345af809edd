"""Faults injected on purpose: into API requests (see ``..faults``) and into the outcome of sync jobs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ..faults import Fault
from .common import StateError
from .core import StateCore


class _Job(Protocol):
    """What a job fault looks at in a sync job (``jobs.SyncJobRecord``)."""

    namespace: str
    repo_name: str
    tag: str
    remote_region_id: str


JOB_OUTCOME_FAULTS = ("no_tag", "other_digest")


@dataclass
class JobFault:
    """Make matching sync jobs *succeed* without the tag arriving (``no_tag``) or with another image
    (``other_digest``): what a proof of replication must catch. ``None`` fields match anything."""

    outcome: str
    namespace: str | None = None
    repository: str | None = None
    tag: str | None = None
    target_region: str | None = None
    remaining: int | None = 1  # None = forever
    hits: int = 0

    def matches(self, job: _Job) -> bool:
        return all(
            want is None or want == have
            for want, have in (
                (self.namespace, job.namespace),
                (self.repository, job.repo_name),
                (self.tag, job.tag),
                (self.target_region, job.remote_region_id),
            )
        )

    def describe(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "namespace": self.namespace,
            "repository": self.repository,
            "tag": self.tag,
            "target_region": self.target_region,
            "remaining": self.remaining,
            "hits": self.hits,
        }


class FaultsMixin(StateCore):
    """Request faults (taken by the server before it answers) and job faults (taken when a job finishes)."""

    faults: list[Fault]
    job_faults: list[JobFault]

    def _reset_faults(self) -> None:
        self.faults = []
        self.job_faults = []

    def add_fault(
        self,
        path: str,
        method: str | None = None,
        status: int | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float | None = None,
        reset: bool = False,
        times: int | None = 1,
    ) -> Fault:
        fault = Fault.build(path, method, status, body, headers, delay, reset, times)
        with self.lock:
            fault.id = self._next("fault")
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.job_faults.clear()

    def take_fault(self, method: str, raw_path: str) -> Fault | None:
        """The first fault matching this request, consuming one of its ``times``."""
        with self.lock:
            for fault in list(self.faults):
                if fault.matches(method, raw_path):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self.faults.remove(fault)
                    fault.hits += 1
                    return fault
            return None

    def add_job_fault(
        self,
        outcome: str,
        namespace: str | None = None,
        repository: str | None = None,
        tag: str | None = None,
        target_region: str | None = None,
        times: int | None = 1,
    ) -> JobFault:
        """Jobs that would copy the image succeed without it (``no_tag``) or with another one
        (``other_digest``), ``times`` times (None or 0 = forever)."""
        if outcome not in JOB_OUTCOME_FAULTS:
            raise StateError(f"outcome must be one of {', '.join(JOB_OUTCOME_FAULTS)}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise StateError("times must be a non-negative integer or null")
        fault = JobFault(outcome, namespace, repository, tag, target_region, times or None)
        with self.lock:
            self.job_faults.append(fault)
        return fault

    def _take_job_fault(self, job: _Job) -> JobFault | None:
        for fault in list(self.job_faults):
            if fault.matches(job):
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self.job_faults.remove(fault)
                return fault
        return None
