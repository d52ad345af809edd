"""policy-export entry points: FunctionGraph ``index.handler`` and OpenFaaS ``handle``.

Imports stay minimal for cold start: the export machinery is imported on the first request.
"""

from __future__ import annotations

import shared.boot  # noqa: F401  first: keeps unused stdlib modules off the cold path (see its docstring)

# isort: split
from typing import Any

from functions.policy_export.settings import FunctionSettings
from shared.runtime.app import FunctionApp
from shared.runtime.model import Invocation, Response


def _handle(settings: Any, invocation: Invocation) -> Response:
    from functions.policy_export.app import handle as export_handle

    return export_handle(settings, invocation)


APP: FunctionApp[FunctionSettings] = FunctionApp("policy-export", FunctionSettings, _handle)
handler = APP.functiongraph_handler
handle = APP.openfaas_handle
