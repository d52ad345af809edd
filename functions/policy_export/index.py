"""policy-export entry points: FunctionGraph ``index.handler`` and OpenFaaS ``handle``.

The export machinery (and the SWR client) is imported with the handler, so that a request pays only its own work
(#22: every request needs it).
"""

from __future__ import annotations

import shared.boot  # noqa: F401  first: keeps unused stdlib modules off the cold path (see its docstring)

# isort: split
from functions.policy_export.app import handle as _handle
from functions.policy_export.settings import FunctionSettings
from shared.runtime.app import FunctionApp

APP: FunctionApp[FunctionSettings] = FunctionApp("policy-export", FunctionSettings, _handle)
handler = APP.functiongraph_handler
handle = APP.openfaas_handle
