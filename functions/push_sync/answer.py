"""push-sync's answer: one decision log line per tag, the HTTP status (worst failure first) and the JSON body."""

from __future__ import annotations

import time
from typing import Any

from functions.push_sync import intents as proof
from functions.push_sync.model import ParseResult, Rejected
from functions.push_sync.settings import PushSyncSettings
from functions.push_sync.work import AUTH, CONFIG, PERMANENT, TRANSIENT, TagWork
from shared.logs.logs import get_logger
from shared.runtime.model import Response


def _rejected_result(r: Rejected) -> dict[str, Any]:
    out = {
        "namespace": r.namespace,
        "repository": r.repository,
        "tag": r.tag,
        "status": "rejected",
        "reason": r.reason,
        "rule": r.rule,
        "targets": [],
        "source": r.source,
    }
    return out


def answer(
    settings: PushSyncSettings,
    cid: str,
    parsed: ParseResult,
    work: list[TagWork],
    dry_run: bool,
    calls: int,
    started: float,
    recorded: int | None = None,
) -> Response:
    log = get_logger()
    results = [w.result() for w in work] + [_rejected_result(r) for r in parsed.rejected]
    _log_decisions(parsed, work, results)
    failures = {w.failure for w in work if w.failure}
    status = proof.answer_status(_status(failures, parsed, work), parsed.format, recorded is not None)
    counts: dict[str, int] = {}
    for result in results:
        counts[str(result["status"])] = counts.get(str(result["status"]), 0) + 1
    summary = {"http_status": status, "calls": calls, "ignored": len(parsed.ignored), "statuses": counts}
    if status == 200 and (PERMANENT in failures or parsed.rejected):
        summary["failures_recorded"] = (
            "permanent failures recorded as failed intents; job-monitor alerts them"
        )
    log.info(
        "push-sync done",
        format=parsed.format,
        dry_run=dry_run,
        duration_ms=round((time.monotonic() - started) * 1000, 2),
        **summary,
    )
    data = {
        "correlation_id": cid,
        "format": parsed.format,
        "dry_run": dry_run,
        "results": results,
        "ignored": [i.to_dict() for i in parsed.ignored],
        "summary": summary,
    }
    headers = {"Retry-After": str(settings.retry_after_seconds)} if status in (409, 502, 503) else {}
    return Response.json(status, data, headers)


def _log_decisions(parsed: ParseResult, work: list[TagWork], results: list[dict[str, Any]]) -> None:
    log = get_logger()
    for w, result in zip(work, results, strict=False):
        log.info(
            "push decision",
            **{k: v for k, v in result.items() if k != "targets"},
            targets=result["targets"],
            rules_not_applied=[f"{label}: {why}" for label, why in w.decision.rejections][:20],
        )
    for r in parsed.rejected:
        log.info(
            "push decision",
            namespace=r.namespace,
            repository=r.repository,
            tag=r.tag,
            status="rejected",
            reason=r.reason,
            rule=r.rule,
            source=r.source,
        )
    for item in parsed.ignored:
        log.debug("push ignored", **item.to_dict())


def _status(failures: set[str], parsed: ParseResult, work: list[TagWork]) -> int:
    """The HTTP status before proof's say: the worst failure first (see the module docstring of app)."""
    if TRANSIENT in failures:
        return 503
    if AUTH in failures or CONFIG in failures:
        return 502
    if any(w.status == "in_progress" for w in work):
        return 409
    if PERMANENT in failures or parsed.rejected:
        return 422
    return 200
