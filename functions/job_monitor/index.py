"""Entry points of job-monitor: FunctionGraph ``index.handler`` and OpenFaaS ``handle``.

Imports stay light: the run's modules are loaded on the first invocation, after configuration is valid.
"""

from __future__ import annotations

import shared.boot  # noqa: F401  first: keeps unused stdlib modules off the cold path (see its docstring)

# isort: split
from typing import Any

from functions.job_monitor.settings import MonitorSettings
from shared.runtime.app import FunctionApp
from shared.runtime.model import Invocation, Response


def _handle(settings: MonitorSettings, invocation: Invocation) -> Response:
    from functions.job_monitor.app import handle

    return handle(settings, invocation)


APP: FunctionApp[Any] = FunctionApp("job-monitor", MonitorSettings, _handle)
handler = APP.functiongraph_handler
handle = APP.openfaas_handle
