"""Alerts: what to say (compose) and how often (RepeatGuard). How to say it (one payload shape per chat format)
and delivery to a webhook or an SMN topic are in :mod:`functions.job_monitor.sinks`."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from functions.job_monitor.classify import STUCK, Key, KeyState, SystemicGroup
from shared.record import field, record

SOURCE = "swr-sync/job-monitor"
PREFIX = "[swr-sync]"
MAX_LISTED = 20  # keys spelled out in one summary alert


@record
class Alert:
    """One alert to send: its kind, title, text lines and the keys it is about."""

    kind: str  # failed | stuck | systemic | digest
    title: str
    lines: list[str]
    keys: list[dict[str, Any]] = field(default_factory=list)
    cause: str = ""  # systemic alerts: swr_auth | swr_unreachable | target_region | target_namespace

    @property
    def text(self) -> str:
        return "\n".join([self.title, *self.lines])

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "title": self.title, "keys": len(self.keys)}
        if self.cause:
            out["cause"] = self.cause
        return out


# -- composing ----------------------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value is not None else "?"


def key_alert(state: KeyState, resync_note: str) -> Alert:
    job = state.latest
    if state.category == STUCK:
        title = f"{PREFIX} sync stuck: {state.key.label}"
        lines = [
            f"job {job.id} {job.status.value} for {int(state.age_seconds)}s (created {_when(job.created_at)})"
        ]
    else:
        title = f"{PREFIX} sync failed: {state.key.label}"
        lines = [
            f"job {job.id} {job.status.value} (created {_when(job.created_at)}, updated {_when(job.updated_at)})",
            f"re-sync: {resync_note}",
        ]
    return Alert(state.category, title, lines, [{**state.to_dict(), "resync": resync_note}])


def _listing(states: Sequence[KeyState], notes: dict[Key, str]) -> tuple[list[str], list[dict[str, Any]]]:
    lines = [f"- {s.key.label}: {s.reason}" for s in states[:MAX_LISTED]]
    if len(states) > MAX_LISTED:
        lines.append(f"- ... and {len(states) - MAX_LISTED} more")
    keys = [{**s.to_dict(), "resync": notes.get(s.key, "")} for s in states]
    return lines, keys


def group_alert(group: SystemicGroup, due: Sequence[KeyState], notes: dict[Key, str]) -> Alert:
    what = "target region" if group.namespace is None else "target namespace"
    title = (
        f"{PREFIX} systemic: {what} {group.label} failing for all its keys "
        f"({len(group.failing)} failing, {len(due)} new)"
    )
    lines, keys = _listing(due, notes)
    return Alert("systemic", title, lines, keys, group.kind)


def digest_alert(states: Sequence[KeyState], notes: dict[Key, str]) -> Alert:
    title = f"{PREFIX} {len(states)} more image syncs failed or stuck"
    lines, keys = _listing(states, notes)
    return Alert("digest", title, lines, keys)


def recovery_alert(state: KeyState) -> Alert:
    """A key alerted as failed or stuck is ok again (announced once, with a state store)."""
    job = state.latest
    title = f"{PREFIX} recovered: {state.key.label}"
    lines = [f"job {job.id} {job.status.value} (updated {_when(job.updated_at)})"]
    return Alert("recovered", title, lines, [state.to_dict()])


def swr_alert(cause: str, unreadable: int, total: int, refused: int, detail: str) -> Alert:
    """SWR itself is the problem: 401/403 (``swr_auth``) or unreachable (``swr_unreachable``)."""
    if cause == "swr_auth":
        title = f"{PREFIX} systemic: SWR rejects the monitor's credentials (401/403)"
    else:
        title = f"{PREFIX} systemic: SWR unreachable"
    lines = [f"{unreadable} of {total} repositories could not be read"]
    if refused:
        lines.append(f"{refused} re-sync call(s) refused")
    if detail:
        lines.append(f"example: {detail}")
    lines.append("sync health is unknown for these repositories until this is fixed")
    return Alert("systemic", title, lines, [], cause)


def compose(
    due: Sequence[KeyState],
    groups: Sequence[SystemicGroup],
    notes: dict[Key, str],
    max_messages: int,
    swr_problem: Alert | None = None,
) -> list[Alert]:
    """One alert per due key, except: keys of a systemic group share one summary; past ``max_messages``
    alerts, the remaining keys share one digest."""
    alerts: list[Alert] = [swr_problem] if swr_problem is not None else []
    assigned: set[Key] = set()
    for group in groups:
        members = set(group.failing)
        in_group = [s for s in due if s.key in members and s.key not in assigned]
        if in_group:
            alerts.append(group_alert(group, in_group, notes))
            assigned.update(s.key for s in in_group)
    rest = [s for s in due if s.key not in assigned]
    room = max_messages - len(alerts)
    if len(rest) <= room:
        alerts.extend(key_alert(s, notes.get(s.key, "")) for s in rest)
    else:
        single = max(0, room - 1)
        alerts.extend(key_alert(s, notes.get(s.key, "")) for s in rest[:single])
        alerts.append(digest_alert(rest[single:], notes))
    return alerts


class RepeatGuard:
    """Warm-instance memory for alerts that carry no job time (SWR unreachable/401 for everything): send one
    per cause at most every ``ALERT_REPEAT_SECONDS``. A cold start forgets (then the alert is sent again)."""

    def __init__(self) -> None:
        self._last: dict[str, datetime] = {}
        self._lock = threading.Lock()

    def allow(self, cause: str, now: datetime, repeat_seconds: float) -> bool:
        with self._lock:
            last = self._last.get(cause)
            if last is not None and last <= now < last + timedelta(seconds=repeat_seconds):
                return False
            self._last[cause] = now
            return True

    def clear(self) -> None:
        with self._lock:
            self._last.clear()


REPEAT_GUARD = RepeatGuard()
