"""One pushed tag's work in push-sync (:class:`TagWork`) and the failure kinds of its sync calls."""

from __future__ import annotations

from typing import Any

from functions.push_sync.decide import Decision
from functions.push_sync.idempotency import Claim
from shared.record import field, record

# failure kinds, worst first for the overall status
# AUTH and CONFIG are our side's problems (credentials, a redirecting endpoint): 502, retry once fixed.
TRANSIENT, AUTH, CONFIG, PERMANENT = "transient", "auth", "config", "permanent"
TRIGGERED = "triggered"  # SWR answered 200: the sync was started; proof of arrival is the target region's tag


@record
class TagWork:
    """One pushed tag being processed: its decision, idempotency claim and, in the end, its result."""

    decision: Decision
    key: str | None = None
    claim: Claim | None = None
    status: str = ""
    reason: str = ""
    failure: str = ""  # TRANSIENT | AUTH | CONFIG | PERMANENT | ""
    target_results: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def result(self) -> dict[str, Any]:
        e = self.decision.event
        out: dict[str, Any] = {
            "namespace": e.namespace,
            "repository": e.repository,
            "tag": e.tag,
            "status": self.status,
            "reason": self.reason,
            "targets": self.target_results,
        }
        if e.digest:
            out["digest"] = e.digest
        out["source"] = e.source
        out.update(self.extra)
        return out
