"""The functions of the product, by their public name."""

from __future__ import annotations

import importlib
from types import ModuleType

FUNCTIONS: dict[str, str] = {
    "push-sync": "functions.push_sync.index",
    "job-monitor": "functions.job_monitor.index",
    "policy-export": "functions.policy_export.index",
}


def load(name: str) -> ModuleType:
    """The function's entry module (exposes ``handler``, ``handle`` and ``APP``)."""
    if name not in FUNCTIONS:
        raise KeyError(f"unknown function {name!r}; choose one of: {', '.join(FUNCTIONS)}")
    return importlib.import_module(FUNCTIONS[name])
