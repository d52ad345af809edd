"""OpenFaaS python3-http adapter: ``handle(event, context)``.

``event`` has ``body`` (bytes), ``headers`` (case-insensitive), ``method``, ``query`` (a multi-dict) and ``path``;
the answer is ``{"statusCode", "body", "headers"}`` with a ``str`` body (the template renders a list body with
``str()``, so never a list). Secrets are files under ``/var/openfaas/secrets/``; the time budget comes from
``exec_timeout``; cron-connector calls are POSTs with ``X-Connector: cron-connector``.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

from shared.lazyre import lazy
from shared.logs import jsontext
from shared.runtime.model import Invocation, Request, Response, Trigger

SECRETS_DIR = "/var/openfaas/secrets"
_DURATION = lazy(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(value: str | None) -> float | None:
    """Go-style duration (``5m``, ``1m30s``, ``90s``, bare seconds) → seconds."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


def _items(headers: Any) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if hasattr(headers, "items"):
        try:
            return [(str(k), str(v)) for k, v in headers.items(multi=True)]  # werkzeug: keep duplicates
        except TypeError:
            return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def _query(query: Any) -> dict[str, list[str]]:
    if query is None:
        return {}
    if hasattr(query, "lists"):
        return {str(k): [str(x) for x in v] for k, v in query.lists()}
    return {str(k): [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in dict(query).items()}


def secret_lookup(secrets_dir: str | None = None) -> Any:
    base = Path(secrets_dir or os.environ.get("OPENFAAS_SECRETS_DIR", SECRETS_DIR))

    def lookup(name: str) -> str | None:
        for candidate in (name, name.lower(), name.lower().replace("_", "-")):
            path = base / candidate
            try:
                if path.is_file():
                    return path.read_text(encoding="utf-8").strip()
            except OSError:
                continue
        return None

    return lookup


def to_invocation(event: Any, context: Any, function_name: str) -> Invocation:
    headers: dict[str, str] = {}
    counts: dict[str, int] = {}
    for k, v in _items(getattr(event, "headers", None)):
        key = k.lower()
        counts[key] = counts.get(key, 0) + 1
        headers[key] = v if key not in headers else headers[key] + "," + v
    body = getattr(event, "body", b"") or b""
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    request = Request(
        str(getattr(event, "method", "POST")).upper(),
        str(getattr(event, "path", "/") or "/"),
        headers,
        _query(getattr(event, "query", None)),
        bytes(body),
        counts,
    )
    started = time.monotonic()
    # OpenFaaS spells its watchdog variables in lower case. The watchdog reads 0 as "no timeout".
    budget = parse_duration(os.environ.get("exec_timeout") or os.environ.get("EXEC_TIMEOUT"))  # noqa: SIM112
    if budget is not None and budget <= 0:
        budget = None

    def remaining() -> float | None:
        if budget is None:
            return None
        return max(0.0, (budget - (time.monotonic() - started)) * 1000.0)

    trigger: Trigger = "timer" if headers.get("x-connector") == "cron-connector" else "http"
    return Invocation(
        platform="openfaas",
        trigger=trigger,
        request=request,
        request_id=headers.get("x-call-id") or str(uuid.uuid4()),
        function_name=os.environ.get("OPENFAAS_FUNCTION_NAME") or function_name,
        remaining_ms=remaining,
        context=context,
        lookup=secret_lookup(),
        event=None,
    )


def from_response(response: Response) -> dict[str, Any]:
    body: Any = response.body
    if isinstance(body, bytes | bytearray):
        text = bytes(body).decode("utf-8", "replace")
    elif isinstance(body, str):
        text = body
    else:  # the template would render a list/dict body with str(): always send JSON text instead
        text = jsontext.dumps(body, default=str)
    return {"statusCode": response.status, "body": text, "headers": dict(response.headers)}
