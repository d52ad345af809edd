"""Authentication of SWR calls: ``X-Auth-Token`` (IAM-issued or static) or an SDK-HMAC-SHA256 signature.

Token problems answer 401 in SWR's list shape; signature problems answer 401 in the API gateway's shape
(``APIG.0303``), as the real gateway does. No error message ever contains a credential.
"""

from __future__ import annotations

from shared.swr import signer

from .state import EmulatorState, User
from .wire import UNAUTHORIZED, Problem, Request


def authenticate(state: EmulatorState, request: Request) -> User:
    token = request.header("X-Auth-Token") or ""
    if token:
        user, reason = state.check_token(token)
        if user is None:
            raise Problem.swr(401, UNAUTHORIZED, "Authenticate Error", reason)
        return user
    authorization = request.header("Authorization") or ""
    if authorization.startswith(signer.ALGORITHM) and state.aksk:
        problem = signer.verify(
            state.aksk,
            request.method,
            request.raw_path,  # the full raw path, region prefix included: that is what the client signed
            request.signing_query(),
            request.headers,
            request.body,
            state.now(),
        )
        if problem is not None:
            raise Problem.apig(401, "APIG.0303", f"Incorrect app authentication information: {problem}")
        return state.default_user()
    if authorization.startswith(signer.ALGORITHM):
        raise Problem.apig(
            401, "APIG.0303", "Incorrect app authentication information: AK/SK auth is not enabled"
        )
    raise Problem.swr(401, UNAUTHORIZED, "Authenticate Error", "X-Auth-Token is missing")
