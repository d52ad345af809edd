"""Proof of replication: each run settles the open intents push-sync recorded.

For every open intent (oldest first, at most ``MONITOR_MAX_INTENTS``):

- ``verified``: the tag is in the target region's repository (one tag listing per target repository and region
  serves every intent of it), with the pushed digest where both are known;
- ``failed`` with a digest mismatch: the tag arrived, its job finished, but SWR reports another digest: alerted;
- ``failed`` job: re-synced while the intent's budget (``MONITOR_MAX_RESYNC``) lasts, then closed and alerted;
- ``missing``: neither a job nor the tag within ``VERIFY_AFTER`` of the push (or of our last re-sync): re-synced
  once, then closed and alerted;
- ``superseded``: a newer push of the same tag to the same target exists (that one is proven instead).

Overlapping runs are safe: each re-sync attempt and each alert is taken with a set-if-absent marker in the store
(``once``), so only one run issues attempt N of an intent or sends its alert; a run that loses a re-sync marker
does not write the intent back. A failure alerted earlier and then verified is announced as recovered, once.
A dry run decides and reports, but writes nothing and takes no marker.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.job_monitor.alerts import Alert
from functions.job_monitor.classify import Key
from functions.job_monitor.evidence import (
    LAG_KEPT,
    MARKER_TTL,
    PASSING,
    Alerted,
    IntentDecision,
    LagRegions,
    LagSample,
    ProofContext,
    ProofResult,
    decide,
    intent_alert,
    intent_key,
    lag_by_region,
)
from functions.job_monitor.resync import ISSUED
from shared.logs.redact import clip
from shared.state import StateUnavailable
from shared.state.intents import OPEN_INDEX, Intent, latest_id, open_intents, save
from shared.swr.client import SwrClient
from shared.swr.errors import NotFound, SwrSyncError
from shared.swr.models import SyncJob, Tag
from shared.sync.batching import SyncItem, group_syncs, run_groups, sync_call


class Settler:
    """One run's settling of the open intents."""

    def __init__(
        self,
        ctx: ProofContext,
        client: SwrClient,
        jobs_by_repo: dict[tuple[str, str], list[SyncJob]],
        now: datetime,
        settings: Any,
        resync: bool,
        dry_run: bool,
        classic: dict[Key, str | None],
        log: Any,
    ) -> None:
        self.ctx, self.state, self.client = ctx, ctx.state, client
        self.jobs_by_repo: dict[tuple[str, str], list[SyncJob] | None] = dict(jobs_by_repo)
        self.now, self.max_resync, self.resync_on, self.dry_run = now, settings.max_resync, resync, dry_run
        # Keys the job-based check decided on this run (failed ones), with its re-sync outcome.
        self.classic = classic
        self.concurrency, self.page_size, self.log = settings.concurrency, settings.page_size, log
        self.reserve = 2 * settings.alert_timeout + settings.http_timeout + 1.0
        self.result = ProofResult()
        self.alerts: list[Alert] = []

    # -- evidence ----------------------------------------------------------------------------------------------

    def _jobs(self, namespace: str, repository: str) -> list[SyncJob] | None:
        """The repository's recent jobs; None if they could not be read (then only a tag proves anything)."""
        key = (namespace, repository)
        if key not in self.jobs_by_repo:
            try:  # outside the monitor's scope: the newest page is enough for recent pushes
                page = self.client.list_sync_jobs(namespace, repository, self.page_size)
                self.jobs_by_repo[key] = page.items
            except SwrSyncError as err:
                self._problem("jobs", f"{namespace}/{repository}", err)
                self.jobs_by_repo[key] = None
        return self.jobs_by_repo[key]

    def _tags(self, region: str, namespace: str, repository: str) -> dict[str, Tag] | None:
        try:
            client = self.ctx.client_for(region)
            self.result.listings += 1
            return {t.tag: t for t in client.list_tags(namespace, repository)}
        except NotFound:
            return {}  # the repository does not exist in the target yet: no tag of it arrived
        except (SwrSyncError, ValueError) as err:
            self._problem("tags", f"{region}/{namespace}/{repository}", err)
            return None

    def _problem(self, what: str, where: str, err: BaseException) -> None:
        detail = clip(str(err), 300)
        self.result.problems.append({"what": what, "where": where, "error": detail})
        self.log.warning("proof: could not read", what=what, where=where, error=detail)

    # -- the run -----------------------------------------------------------------------------------------------

    def run(self) -> tuple[ProofResult, list[Alert]]:
        try:
            self._run()
        except StateUnavailable as err:
            self.result.degraded = str(err)
            self.log.warning("proof: state store unavailable, the run goes on without it", error=str(err))
        return self.result, self.alerts

    def _run(self) -> None:
        intents = open_intents(self.state, self.ctx.max_intents)
        self.result.checked = len(intents)
        groups: dict[tuple[str, str, str], list[Intent]] = {}
        for intent in intents:
            if intent.status == "failed":  # recorded failed by push-sync (a permanent failure): alert it once
                self._close(intent, "failed", intent.reason, "rejected")
                continue
            if latest_id(self.state, intent) not in (None, intent.id):
                self._close(intent, "superseded", "a newer push of this tag to this target exists", None)
                continue
            groups.setdefault((intent.region, intent.target_namespace, intent.repository), []).append(intent)
        decisions: list[IntentDecision] = []
        for n, ((region, target_ns, repository), members) in enumerate(groups.items()):
            if self.client.deadline.remaining() < self.reserve:
                # Keep the time alerts and the answer need: the rest waits (open) for the next run.
                left = len(groups) - n
                self.result.problems.append(
                    {"what": "deadline", "where": f"{left} repositories", "error": ""}
                )
                break
            tags = self._tags(region, target_ns, repository)
            if tags is None:
                continue  # unreadable this run: the intents stay open as they are
            for intent in members:
                jobs = self._jobs(intent.namespace, intent.repository)
                d = decide(intent, tags, jobs or [], self.now, self.ctx.verify_after)
                if jobs is not None or d.status == "verified":  # no job history: no failed/missing verdict
                    decisions.append(d)
        self._apply(decisions)
        self._summarise()

    def _apply(self, decisions: list[IntentDecision]) -> None:
        to_resync: list[IntentDecision] = []
        for d in decisions:
            intent = d.intent
            if d.status == "verified":
                self._verified(d)
            elif d.status == "failed" and d.reason.startswith("digest mismatch"):
                self._close(intent, "failed", d.reason, "mismatch")
            elif d.status == "failed" and intent_key(intent) in self.classic:
                # The job-based check owns this failed job: its re-sync counts, its alert covers the key.
                outcome = self.classic[intent_key(intent)]
                if outcome == ISSUED:
                    to_resync.append(d)
                elif outcome not in PASSING:
                    self._close(intent, "failed", f"{d.reason}; re-sync budget used, alerted by key", None)
            elif d.status == "failed":
                if self._may_resync(intent, self.max_resync):
                    to_resync.append(d)
                else:
                    why = f"{d.reason}; re-sync budget used ({intent.resyncs} of {self.max_resync})"
                    self._close(intent, "failed", why, "failed")
            elif d.status == "missing":
                if self._may_resync(intent, 1):
                    to_resync.append(d)
                else:
                    self._close(
                        intent, "missing", f"{d.reason}; {intent.resyncs} re-sync(s) issued", "missing"
                    )
        self._resync(to_resync)

    def _may_resync(self, intent: Intent, budget: int) -> bool:
        return self.resync_on and intent.resyncs < budget

    def _verified(self, d: IntentDecision) -> None:
        intent = d.intent
        arrived = d.tag.updated if d.tag is not None and d.tag.updated is not None else self.now
        arrived = min(max(arrived, intent.created_at), self.now)
        lag = (arrived - intent.created_at).total_seconds()
        self.result.verified += 1
        self._save_closed(intent, "verified", d.reason, job=d.job)
        if self.dry_run:
            return  # a dry run writes nothing and takes no marker (a recovery stays to announce)
        self.state.push_recent(LagSample(seconds=lag, at=self.now), intent.region, LAG_KEPT, MARKER_TTL)
        known = self.state.read(LagRegions, "all")
        regions = set(known.regions) if known is not None else set()
        if intent.region not in regions:
            regions.add(intent.region)
            self.state.write(LagRegions(regions=sorted(regions)[:200]), "all", MARKER_TTL)
        alerted = self.state.read(Alerted, intent.target_key)
        if alerted is not None and self.state.once(
            "recovery", f"{intent.target_key}:{alerted.at.isoformat()}", MARKER_TTL
        ):
            self.state.remove(Alerted, intent.target_key)
            reason = f"verified in the target region (alerted {alerted.at.strftime('%Y-%m-%d %H:%M:%SZ')})"
            self.alerts.append(intent_alert(intent, "recovered", reason))

    def _save_closed(
        self, intent: Intent, status: str, reason: str, job: SyncJob | None = None, alerted: bool = False
    ) -> Intent:
        updated = intent.model_copy(
            update={
                "status": status,
                "reason": clip(reason, 500),
                "settled_at": self.now,
                "job_id": job.id if job is not None else intent.job_id,
                "alerted": alerted or intent.alerted,
            }
        )
        if not self.dry_run:
            save(self.state, updated)
        self.result.settled.append(
            {"intent": intent.id, "key": intent.label, "status": status, "reason": reason}
        )
        return updated

    def _close(self, intent: Intent, status: str, reason: str, alert_kind: str | None) -> None:
        if status == "missing":
            self.result.missing += 1
        elif status == "failed":
            self.result.failed += 1
        elif status == "superseded":
            self.result.superseded += 1
        if alert_kind is None:
            self._save_closed(intent, status, reason)
            return
        # Only the run that takes the marker alerts (overlapping runs, repeated runs, a spoofed trigger).
        if self.dry_run or self.state.once("intent-alert", f"{intent.id}:{status}", MARKER_TTL):
            self.alerts.append(intent_alert(intent, alert_kind, reason))
            if intent.region and not self.dry_run:
                self.state.write(Alerted(at=self.now, label=intent.label), intent.target_key, MARKER_TTL)
        self._save_closed(intent, status, reason, alerted=True)

    def _resync(self, decisions: list[IntentDecision]) -> None:
        if self.dry_run:
            for d in decisions:
                self.result.settled.append(
                    {
                        "intent": d.intent.id,
                        "key": d.intent.label,
                        "status": "would_resync",
                        "reason": d.reason,
                    }
                )
            return
        mine: list[IntentDecision] = []
        for d in decisions:
            intent = d.intent
            if self.classic.get(intent_key(intent)) == ISSUED:
                mine.append(d)  # the job-based re-sync of this run covered it: count it, issue nothing more
                continue
            # One run per attempt: the marker is the lock against overlapping runs re-syncing the same key.
            if self.state.once("intent-resync", f"{intent.id}:{intent.resyncs + 1}", MARKER_TTL):
                mine.append(d)
        items = [
            SyncItem(i.namespace, i.repository, i.tag, i.region, i.target_namespace, i.override)
            for i in (d.intent for d in mine)
            if self.classic.get(intent_key(i)) != ISSUED
        ]
        failed_items: set[tuple[Any, ...]] = set()
        if items:
            for outcome in run_groups(group_syncs(items), sync_call(self.client), self.concurrency):
                # A 200 means triggered: SWR's list is never read as failed tags (see shared/sync/batching.py).
                if outcome.error is not None:
                    self._problem("resync", "/".join(outcome.group.key[:3]), outcome.error)
                    failed_items.update((*outcome.group.key, t) for t in outcome.group.tags)
        for d in mine:
            i = d.intent
            if (i.namespace, i.repository, i.region, i.target_namespace, i.override, i.tag) in failed_items:
                continue  # not issued: the intent stays as it was, the next run tries attempt N again
            self.result.resynced += 1
            updated = i.model_copy(
                update={
                    "resyncs": i.resyncs + 1,
                    "last_action_at": self.now,
                    "reason": clip(f"{d.status}: {d.reason}; re-synced", 500),
                }
            )
            save(self.state, updated)
            self.log.info("proof: re-synced", key=i.label, why=d.status, attempt=updated.resyncs)

    def _summarise(self) -> None:
        self.result.pending = self.state.index_size(OPEN_INDEX)
        oldest = self.state.index_oldest(OPEN_INDEX, 1)
        if oldest:
            self.result.oldest_pending_age_seconds = round(max(0.0, self.now.timestamp() - oldest[0][1]), 1)
        known = self.state.read(LagRegions, "all")
        self.result.lag = lag_by_region(self.state, known.regions if known is not None else [])
