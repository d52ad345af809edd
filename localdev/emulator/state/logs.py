"""What the emulator records of its traffic: the API requests it received and the webhooks it delivered."""

from __future__ import annotations

from collections import deque
from typing import Any

from .common import Listing
from .core import StateCore

REQUEST_LOG_MAX = 20_000
DELIVERY_LOG_MAX = 5_000


class LogsMixin(StateCore):
    """Two bounded logs, oldest first."""

    _requests: deque[dict[str, Any]]
    _deliveries: deque[dict[str, Any]]

    def _reset_logs(self) -> None:
        self._requests = deque(maxlen=REQUEST_LOG_MAX)
        self._deliveries = deque(maxlen=DELIVERY_LOG_MAX)

    def log_request(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            entry["seq"] = self._next("request")
            self._requests.append(entry)
            return entry

    @property
    def requests(self) -> Listing:
        """Received API requests (not admin ones), oldest first; secrets masked."""
        with self.lock:
            return Listing(self._requests)

    def record_delivery(self, result: dict[str, Any]) -> None:
        with self.lock:
            self._deliveries.append(result)

    @property
    def deliveries(self) -> Listing:
        with self.lock:
            return Listing(self._deliveries)
