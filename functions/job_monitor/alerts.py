"""Alerts: what to say (compose), how to say it (one payload shape per chat format), and delivery to a webhook
and/or a Huawei Cloud SMN topic, with a timeout and one retry. A delivery that fails is logged with the alert's
text and counted, never dropped silently. The webhook URL carries credentials: it is never logged or reported."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit

from functions.job_monitor.classify import STUCK, Key, KeyState, SystemicGroup
from shared import jsontext, wirejson
from shared.errors import SwrSyncError
from shared.http import Deadline, HttpRequest, RetryPolicy, Transport, UrllibTransport, call_with_retries
from shared.redact import clip

if TYPE_CHECKING:
    from shared.auth import Auth

SOURCE = "swr-sync/job-monitor"
PREFIX = "[swr-sync]"
MAX_LISTED = 20  # keys spelled out in one summary alert
SMN_SUBJECT_MAX_BYTES = 512
# Text limits of the chat platforms (bytes of UTF-8; WeCom's text message is the tightest, 2048 bytes).
TEXT_LIMITS = {"generic": 60_000, "slack": 35_000, "feishu": 30_000, "dingtalk": 18_000, "wecom": 2_000}
SLACK_SECTION_MAX = 3000


@dataclass
class Alert:
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


# -- payload formats ----------------------------------------------------------------------------------------


def _truncate(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[: max(0, limit - 20)].decode("utf-8", "ignore") + "\n... (truncated)"


def slack_escape(text: str) -> str:
    """Slack's three control characters (its mrkdwn would read ``<...>`` as a link or mention)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(alert: Alert, fmt: str, context: dict[str, Any]) -> dict[str, Any]:
    """The JSON body for ``fmt`` (generic | slack | feishu | dingtalk | wecom)."""
    text = _truncate(alert.text, TEXT_LIMITS.get(fmt, TEXT_LIMITS["generic"]))
    if fmt == "slack":
        body = _truncate("\n".join(alert.lines) or alert.title, SLACK_SECTION_MAX - 100)
        return {
            "text": slack_escape(text),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": f"*{slack_escape(alert.title)}*"}},
                {"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(body)}},
            ],
        }
    if fmt == "feishu":
        return {"msg_type": "text", "content": {"text": text}}
    if fmt in ("dingtalk", "wecom"):
        return {"msgtype": "text", "text": {"content": text}}
    return {
        "source": SOURCE,
        "kind": alert.kind,
        "cause": alert.cause or None,
        "title": alert.title,
        "text": text,
        "keys": alert.keys,
        **context,
    }


def smn_subject(alert: Alert) -> str:
    line = " ".join(alert.title.split())
    return _truncate(line, SMN_SUBJECT_MAX_BYTES - 20).replace("\n", " ")


# -- delivery -----------------------------------------------------------------------------------------------


@dataclass
class Delivery:
    sink: str
    ok: bool
    attempts: int = 0
    status: int | None = None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sink": self.sink, "ok": self.ok, "attempts": self.attempts}
        if self.status is not None:
            out["status"] = self.status
        if self.error:
            out["error"] = self.error
        return out


class Sink(Protocol):
    name: str

    def send(self, alert: Alert, context: dict[str, Any], deadline: Deadline) -> Delivery: ...


def _platform_error(fmt: str, body: bytes) -> str:
    """Chat platforms answer 200 with an error code inside (DingTalk keyword mismatch, bad Feishu token...)."""
    if fmt not in ("feishu", "dingtalk", "wecom") or not body.strip():
        return ""
    try:
        data = wirejson.loads(body)
    except wirejson.JsonError:
        return ""
    if not isinstance(data, dict):
        return ""
    for code_key, msg_key in (("errcode", "errmsg"), ("code", "msg"), ("StatusCode", "StatusMessage")):
        code = data.get(code_key)
        if code not in (None, 0, "0"):
            return clip(f"{code_key} {code}: {data.get(msg_key, '')}", 200)
    return ""


class WebhookSink:
    """POST the formatted JSON to ALERT_WEBHOOK_URL: timeout, one retry on network errors, 429 and 5xx."""

    name = "webhook"

    def __init__(self, url: str, fmt: str, timeout: float, transport: Transport | None = None) -> None:
        self._url = url
        self._host = urlsplit(url).netloc
        self.fmt = fmt
        self.timeout = timeout
        self._transport = transport or UrllibTransport()  # never follows redirects

    def send(self, alert: Alert, context: dict[str, Any], deadline: Deadline) -> Delivery:
        body = jsontext.dumps(payload(alert, self.fmt, context)).encode()
        delivery = Delivery(self.name, False)
        for _ in range(2):
            remaining = deadline.remaining()
            if remaining <= 0.05:
                delivery.error = delivery.error or "no time left before the function's deadline"
                return delivery
            delivery.attempts += 1
            # The path given to errors is a placeholder: the real one may carry the webhook's token.
            request = HttpRequest(
                "POST",
                self._url,
                "<webhook>",
                {},
                {"Content-Type": "application/json; charset=utf-8", "User-Agent": "swr-sync/job-monitor"},
                body,
            )
            try:
                resp = self._transport.send(request, timeout=min(self.timeout, remaining))
            except SwrSyncError as err:
                delivery.error = clip(str(err), 200)
                continue
            delivery.status = resp.status
            if 200 <= resp.status < 300:
                problem = _platform_error(self.fmt, resp.body)
                delivery.ok, delivery.error = not problem, problem
                return delivery
            delivery.error = f"HTTP {resp.status}"
            if resp.status != 429 and resp.status < 500:
                return delivery  # a 4xx will not change on retry
        return delivery


class SmnSink:
    """Publish to an SMN topic: ``POST /v2/{project_id}/notifications/topics/{topic_urn}/publish``."""

    name = "smn"

    def __init__(
        self,
        endpoint: str,
        project_id: str,
        topic_urn: str,
        auth: Auth,
        timeout: float,
        transport: Transport | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        self._base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._prefix = parts.path.rstrip("/")
        self._host = parts.netloc
        self.project_id = project_id
        self.topic_urn = topic_urn
        self._auth = auth
        self._policy = RetryPolicy(max_attempts=2, base_delay=0.1, max_delay=0.5, timeout=timeout)
        self._transport = transport or UrllibTransport()

    def path(self) -> str:
        return (
            f"/v2/{quote(self.project_id, safe='')}/notifications/topics/"
            f"{quote(self.topic_urn, safe='')}/publish"
        )

    def send(self, alert: Alert, context: dict[str, Any], deadline: Deadline) -> Delivery:
        delivery = Delivery(self.name, False)
        if not self.project_id:
            delivery.error = "no project id (set CLOUD_SDK_PROJECT_ID)"
            return delivery
        path = self.path()
        body = jsontext.dumps(
            {"subject": smn_subject(alert), "message": _truncate(alert.text, 200_000)}
        ).encode()

        def build() -> HttpRequest:
            delivery.attempts += 1
            req = HttpRequest(
                "POST",
                self._base + path,
                self._prefix + path,
                {},
                {
                    "Host": self._host,
                    "Content-Type": "application/json",
                    "User-Agent": "swr-sync/job-monitor",
                },
                body,
            )
            self._auth.apply(req, deadline)
            return req

        try:
            resp = call_with_retries(self._transport, build, self._policy, deadline, self._auth.refresh)
        except SwrSyncError as err:
            delivery.status = getattr(err, "status", None)
            delivery.error = clip(str(err), 200)
            return delivery
        delivery.ok, delivery.status = True, resp.status
        return delivery


def deliver(
    alerts: Iterable[Alert], sinks: Sequence[Sink], context: dict[str, Any], deadline: Deadline, log: Any
) -> list[dict[str, Any]]:
    """Send every alert to every sink; one log line per alert. Returns the per-alert summaries."""
    out: list[dict[str, Any]] = []
    for alert in alerts:
        deliveries = []
        for sink in sinks:
            try:
                deliveries.append(sink.send(alert, context, deadline))
            except Exception as err:  # a sink bug must not lose the other sinks or the report
                deliveries.append(
                    Delivery(sink.name, False, error=f"{type(err).__name__}: {clip(str(err), 150)}")
                )
        failed = [d for d in deliveries if not d.ok]
        summary = {**alert.summary(), "deliveries": [d.to_dict() for d in deliveries]}
        if not sinks:
            log.warning("alert (no sink configured: logged only)", alert=alert.summary(), text=alert.text)
        elif failed:
            log.error(
                "alert not delivered",
                alert=alert.summary(),
                text=alert.text,
                deliveries=summary["deliveries"],
            )
        else:
            log.warning("alert sent", alert=alert.summary(), deliveries=summary["deliveries"])
        out.append(summary)
    return out
