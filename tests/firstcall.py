"""A function's first call after a cold start, in a fresh interpreter: its answer, and the modules it imported."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

_CHILD = """\
import json, sys, importlib
index = importlib.import_module(sys.argv[1])
class Ctx:
    def getRequestID(self): return 'r'
    def getRemainingTimeInMilliSeconds(self): return 30000
    def getFunctionName(self): return sys.argv[1]
    def getUserData(self, name): return None
before = set(sys.modules)
answer = index.handler(json.loads(sys.argv[2]), Ctx())
new = sorted(m for m in set(sys.modules) - before if not m.startswith('encodings.'))
print(json.dumps({'status': answer['statusCode'], 'body': answer['body'], 'new': new}))
"""


def first_call(entry: str, event: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    """Import ``entry`` (e.g. ``functions.push_sync.index``) and hand its FunctionGraph handler ``event``, with
    only ``env`` (and PATH) in the environment. Returns ``{"status", "body", "new"}``: ``new`` is every module the
    call imported (codecs aside)."""
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, entry, json.dumps(event)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **env},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["stderr"] = proc.stderr[-2000:]
    return result
