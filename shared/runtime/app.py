"""The wrapper that turns an application function into FunctionGraph and OpenFaaS entry points.

It owns what every function shares: cold-start tracking, per-invocation log context (request id, correlation id),
configuration loaded and validated once per warm instance, and a last-resort guard so that no exception ever
escapes as a traceback to the caller.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from shared.logs import logs
from shared.runtime import functiongraph, openfaas
from shared.runtime.config import env_lookup, load_settings
from shared.runtime.model import Invocation, Response
from shared.swr.errors import ConfigError

if TYPE_CHECKING:
    from pydantic import BaseModel

S = TypeVar("S")
CORRELATION_HEADERS = (
    "x-correlation-id",
    "x-request-id",
    "x-call-id",
    "x-cff-request-id",
    "x-apig-request-id",
)
# A correlation id comes from a caller's header and goes back out as a header and into every log line.
_CORRELATION_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


class FunctionApp(Generic[S]):
    """``settings_model`` is loaded from the environment; ``handle(settings, invocation)`` does the work.

    ``prebuild``: the pydantic models every call validates. Shared models build their validator on first use
    (``defer_build``), so a function pays only for those it uses; these are built now, when the entry point is
    imported, so that the first call does no one-time work either (#22).
    """

    def __init__(
        self,
        name: str,
        settings_model: type[Any],
        handle: Callable[[Any, Invocation], Response],
        prebuild: Sequence[type[BaseModel]] = (),
    ) -> None:
        self.name = name
        self.settings_model = settings_model
        self.handle = handle
        self._settings: Any = None
        self._cold = True
        for model in prebuild:
            model.model_rebuild()

    def reset(self) -> None:
        """Forget cached settings (tests; a changed environment)."""
        self._settings = None
        self._cold = True

    def settings(self, invocation: Invocation) -> Any:
        if self._settings is None:
            self._settings = load_settings(self.settings_model, env_lookup(extra=invocation.lookup))
            logs.configure(getattr(self._settings, "log_level", "INFO"))
        return self._settings

    def run(self, invocation: Invocation) -> Response:
        invocation.cold_start, self._cold = self._cold, False
        req = invocation.request
        invocation.correlation_id = next(
            (
                v.strip()
                for h in CORRELATION_HEADERS
                if (v := req.header(h)) and _CORRELATION_ID.fullmatch(v.strip())
            ),
            None,
        ) or (
            invocation.request_id if _CORRELATION_ID.fullmatch(invocation.request_id) else str(uuid.uuid4())
        )
        logs.bind_invocation(
            self.name, invocation.request_id, invocation.cold_start, invocation.correlation_id
        )
        log = logs.get_logger()
        started = time.monotonic()
        try:
            try:
                settings = self.settings(invocation)
                if req.body_error:  # no function sees a body other than the one the sender sent
                    log.info("request refused", reason=req.body_error)
                    response = Response.error(400, req.body_error, invocation.correlation_id)
                else:
                    response = self.handle(settings, invocation)
                if not isinstance(response, Response):
                    raise TypeError(f"handler returned {type(response).__name__}, not Response")
            except ConfigError as err:
                log.error("configuration invalid", problems=err.problems)
                response = Response.error(
                    500, "configuration invalid", invocation.correlation_id, problems=err.problems
                )
            except Exception as err:  # last resort: log once, answer cleanly
                log.exception("unhandled error", error_type=type(err).__name__)
                response = Response.error(500, "internal error", invocation.correlation_id)
            response.headers.setdefault("X-Correlation-Id", invocation.correlation_id)
            log.debug(
                "invocation done",
                status=response.status,
                duration_ms=round((time.monotonic() - started) * 1000, 2),
            )
            return response
        finally:
            logs.clear_invocation()

    # -- platform entry points ------------------------------------------------------------------------------

    def functiongraph_handler(self, event: Any, context: Any) -> Any:
        invocation = functiongraph.to_invocation(event, context, self.name)
        return functiongraph.from_response(self.run(invocation), invocation.trigger)

    def openfaas_handle(self, event: Any, context: Any) -> dict[str, Any]:
        invocation = openfaas.to_invocation(event, context, self.name)
        return openfaas.from_response(self.run(invocation))
