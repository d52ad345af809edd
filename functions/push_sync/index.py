"""push-sync entry points: FunctionGraph ``index.handler`` and OpenFaaS ``handle``.

Imports stay light: redis-py and concurrent.futures are only imported when a delivery needs them.
"""

from __future__ import annotations

import shared.boot  # noqa: F401  first: keeps unused stdlib modules off the cold path (see its docstring)

# isort: split
from functions.push_sync.app import EVERY_PUSH_MODELS
from functions.push_sync.app import handle as _handle
from functions.push_sync.settings import PushSyncSettings
from shared.runtime.app import FunctionApp

APP: FunctionApp[PushSyncSettings] = FunctionApp(
    "push-sync", PushSyncSettings, _handle, prebuild=EVERY_PUSH_MODELS
)
handler = APP.functiongraph_handler
handle = APP.openfaas_handle
