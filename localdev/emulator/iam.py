"""IAM ``POST /v3/auth/tokens`` (password identity; project scope by name or id, or domain scope)."""

from __future__ import annotations

import json
import secrets
from typing import Any

from .state import TOKEN_LIFETIME, EmulatorState, TokenRecord, User, fmt_time, stable_id
from .wire import Problem, Request, Response

BAD_BODY = "The request body is invalid"


def _bad(message: str = BAD_BODY) -> Problem:
    return Problem.iam(400, message, "Bad Request")


def issue_token(state: EmulatorState, request: Request) -> Response:
    try:
        body = json.loads(request.body or b"null")
    except ValueError as err:
        raise _bad() from err
    auth = body.get("auth") if isinstance(body, dict) else None
    identity = auth.get("identity") if isinstance(auth, dict) else None
    if not isinstance(identity, dict):
        raise _bad()
    methods = identity.get("methods")
    if not isinstance(methods, list) or "password" not in methods:
        raise _bad("The request body is invalid: only the password method is emulated")
    user = _dig(identity, "password", "user")
    if not isinstance(user, dict):
        raise _bad()
    name, password = user.get("name"), user.get("password")
    domain = user.get("domain")
    if not isinstance(name, str) or not isinstance(password, str) or not isinstance(domain, dict):
        raise _bad()
    domain_name = domain.get("name")
    domain_id = domain.get("id")
    account = state.users.get(name)
    domain_ok = account is not None and (
        domain_name == account.domain or (domain_name is None and domain_id == account.domain_id)
    )
    if account is None or not domain_ok or not secrets.compare_digest(account.password, password):
        raise Problem.iam(401, "The username or password is wrong.", "Unauthorized")

    project = _project_scope(state, auth, account)
    record: TokenRecord = state.issue_token(
        account.name, project["name"] if project else None, TOKEN_LIFETIME
    )
    token: dict[str, Any] = {
        "expires_at": fmt_time(record.expires_at),
        "issued_at": fmt_time(record.issued_at),
        "methods": ["password"],
        "roles": [{"id": "0", "name": "te_admin"}],
        "user": {
            "domain": {"id": account.domain_id, "name": account.domain},
            "id": account.id,
            "name": account.name,
            "password_expires_at": "",
        },
    }
    if project is not None:
        token["project"] = project
    else:
        token["domain"] = {"id": account.domain_id, "name": account.domain}
    if not request.query().get("nocatalog"):
        token["catalog"] = []
    return Response.json(201, {"token": token}, {"X-Subject-Token": record.token})


def _project_scope(state: EmulatorState, auth: Any, account: User) -> dict[str, Any] | None:
    """The token's project (scoped by a region's name or id); None for a domain scope or no scope."""
    scope = auth.get("scope") if isinstance(auth, dict) else None
    if isinstance(scope, dict) and isinstance(scope.get("project"), dict):
        wanted = scope["project"]
        region = next(
            (
                r
                for r in state.regions
                if wanted.get("name") == r or wanted.get("id") == stable_id("project", r)
            ),
            None,
        )
        if region is None:
            raise Problem.iam(401, "The project does not exist or is not accessible.", "Unauthorized")
        return {
            "domain": {"id": account.domain_id, "name": account.domain},
            "id": stable_id("project", region),
            "name": region,
        }
    if scope is None or (isinstance(scope, dict) and isinstance(scope.get("domain"), dict)):
        return None
    raise _bad()


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
