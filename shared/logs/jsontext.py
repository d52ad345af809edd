"""JSON text for log lines and answers: readable UTF-8 (non-ASCII kept as is), and always encodable.

JSON input may carry ``"\\ud800"``, which decodes to a lone surrogate: a str that no UTF-8 stream or socket
accepts. Echoed into a log line or an answer, it would fail the write after the work was done.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from shared.lazyre import lazy

_SURROGATE = lazy("[\ud800-\udfff]")


def dumps(obj: Any, default: Callable[[Any], Any] | None = None) -> str:
    text = json.dumps(obj, default=default, ensure_ascii=False, separators=(",", ":"))
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return json.dumps(obj, default=default, ensure_ascii=True, separators=(",", ":"))  # escapes it as \ud800
