"""Runtime adapters: one neutral invocation model, adapters for FunctionGraph and OpenFaaS (python3-http)."""

from shared.runtime.model import Invocation, Request, Response

__all__ = ["Invocation", "Request", "Response"]
