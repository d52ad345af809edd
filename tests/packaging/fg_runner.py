"""Run ``index.handler`` from an unpacked FunctionGraph code zip, the way the runtime would, in isolation.

Usage (a fresh interpreter; nothing of the project or its venv is importable)::

    python -I -S fg_runner.py CODE_DIR EVENTS.json

``EVENTS.json``: ``{"user_data": {...}, "token": str|null, "events": [event, ...]}``. ``user_data`` is what
``context.getUserData`` answers (FunctionGraph's encrypted variables); ``token``, when set, is the agency token
``context.getToken`` answers. The last stdout line is JSON: ``{"results": [...], "modules": {...},
"peak_rss_kib": int}``; everything before it is the function's own log output.
"""

from __future__ import annotations

import json
import sys
import time
import uuid


class Context:
    """The documented FunctionGraph context methods the project uses (see runtimes.md 1.2)."""

    def __init__(self, user_data: dict[str, str], token: str | None, timeout_s: int = 30) -> None:
        self._user_data = user_data
        self._token = token
        self._deadline = time.monotonic() + timeout_s
        self._request_id = str(uuid.uuid4())
        if token is None:
            # Without an agency the token accessors are absent for the project's purposes.
            self.getToken = None  # type: ignore[assignment]

    def getRequestID(self) -> str:
        return self._request_id

    def getRemainingTimeInMilliSeconds(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def getUserData(self, key: str) -> str | None:
        return self._user_data.get(key)

    def getFunctionName(self) -> str:
        return "swr-sync-under-test"

    def getToken(self) -> str | None:
        return self._token


def main() -> int:
    code_dir, events_file = sys.argv[1], sys.argv[2]
    sys.path.insert(0, code_dir)  # the runtime imports index.py from the code root
    with open(events_file, encoding="utf-8") as fh:
        spec = json.load(fh)
    import index  # type: ignore[import-not-found]

    imported = set(sys.modules)
    results = []
    for event in spec["events"]:
        context = Context(spec.get("user_data") or {}, spec.get("token"))
        results.append(index.handler(event, context))
    modules = {
        name: getattr(sys.modules[name], "__file__", None)
        for name in ("index", "functions", "shared", "pydantic", "pydantic_core", "structlog")
        if name in sys.modules
    }
    peak = _peak_rss_kib()
    # shared.boot's deferred stdlib modules: "deferred" (never used), "loaded", or "absent"
    stdlib = {
        name: "absent" if name not in sys.modules else type(sys.modules[name]).__name__
        for name in ("asyncio", "ssl", "importlib.metadata", "secrets")
    }
    report = {
        "results": results,
        "modules": modules,
        "peak_rss_kib": peak,
        "stdlib": stdlib,
        "imported_by_events": sorted(set(sys.modules) - imported),
    }
    sys.stdout.write("\n" + json.dumps(report) + "\n")
    return 0


def _peak_rss_kib() -> int:
    """This process's own peak RSS. ``ru_maxrss`` is not used: on Linux a child started by a large parent
    can report the parent's peak through it; ``VmHWM`` is the process's own high-water mark."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    raise SystemExit(main())
