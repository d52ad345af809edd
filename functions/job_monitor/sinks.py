"""Alert channels: one payload shape per chat format (generic, slack, feishu, dingtalk, wecom) and delivery to a
webhook and/or a Huawei Cloud SMN topic, with a timeout and one retry. A delivery that fails is logged with the
alert's text and counted, never dropped silently. The webhook URL carries credentials: it is never logged or
reported. What to say is :mod:`functions.job_monitor.alerts`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urlsplit

from functions.job_monitor.alerts import SOURCE, Alert
from shared.logs import jsontext
from shared.logs.redact import clip
from shared.record import record
from shared.swr import wirejson
from shared.swr.errors import SwrSyncError
from shared.swr.http import Deadline, HttpRequest, RetryPolicy, Transport, UrllibTransport, call_with_retries

if TYPE_CHECKING:
    from shared.swr.auth import Auth

SMN_SUBJECT_MAX_BYTES = 512
# Text limits of the chat platforms (bytes of UTF-8; WeCom's text message is the tightest, 2048 bytes).
TEXT_LIMITS = {"generic": 60_000, "slack": 35_000, "feishu": 30_000, "dingtalk": 18_000, "wecom": 2_000}
SLACK_SECTION_MAX = 3000


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


@record
class Delivery:
    """The outcome of sending one alert to one sink."""

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
