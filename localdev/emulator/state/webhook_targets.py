"""The webhook targets registered with the emulator (where a push is announced, and in which format)."""

from __future__ import annotations

from dataclasses import dataclass

from .common import Listing, StateError
from .core import StateCore


@dataclass
class Webhook:
    id: int
    url: str
    format: str
    headers: dict[str, str]


class WebhookTargetsMixin(StateCore):
    """Registered webhooks by id; what was delivered to them is in ``logs.py``."""

    _webhooks: dict[int, Webhook]

    def _reset_webhooks(self) -> None:
        self._webhooks = {}

    def add_webhook(self, url: str, format: str = "harbor", headers: dict[str, str] | None = None) -> Webhook:
        from ..webhooks import FORMATS

        if format not in FORMATS:
            raise StateError(f"format must be one of {', '.join(sorted(FORMATS))}")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise StateError("url must be an http(s) URL")
        if headers is not None and not (
            isinstance(headers, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        ):
            raise StateError("headers must be an object of strings")
        with self.mutating():
            hook = Webhook(self._next("webhook"), url, format, dict(headers or {}))
            self._webhooks[hook.id] = hook
            return hook

    def remove_webhooks(self, webhook_id: int | None = None) -> int:
        with self.mutating():
            if webhook_id is None:
                n = len(self._webhooks)
                self._webhooks.clear()
                return n
            return 1 if self._webhooks.pop(int(webhook_id), None) else 0

    def webhook_list(self) -> list[Webhook]:
        with self.lock:
            return list(self._webhooks.values())

    @property
    def webhooks(self) -> Listing:
        from shared.logs.redact import redact

        with self.lock:
            return Listing(
                {"id": w.id, "url": w.url, "format": w.format, "headers": redact(w.headers)}
                for w in self._webhooks.values()
            )
