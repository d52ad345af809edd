"""Entry points of job-monitor: FunctionGraph ``index.handler`` and OpenFaaS ``handle``.

The run's modules (and the SWR client) are imported with the handler, so that a call pays only its own work (#22:
every timer call needs them; the health page and reconcile modes import theirs when first asked).
"""

from __future__ import annotations

import shared.boot  # noqa: F401  first: keeps unused stdlib modules off the cold path (see its docstring)

# isort: split
from typing import Any

from functions.job_monitor.app import EVERY_RUN_MODELS
from functions.job_monitor.app import handle as _handle
from functions.job_monitor.settings import MonitorSettings
from shared.runtime.app import FunctionApp

APP: FunctionApp[Any] = FunctionApp("job-monitor", MonitorSettings, _handle, prebuild=EVERY_RUN_MODELS)
handler = APP.functiongraph_handler
handle = APP.openfaas_handle
