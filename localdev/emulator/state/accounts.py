"""IAM accounts of the emulator: users, the tokens issued to them, static tokens and AK/SK key pairs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from .common import StateError, stable_id
from .core import StateCore

TOKEN_LIFETIME = timedelta(hours=24)


@dataclass
class User:
    name: str
    password: str
    domain: str

    @property
    def id(self) -> str:
        return stable_id("user", self.domain, self.name)

    @property
    def domain_id(self) -> str:
        return stable_id("domain", self.domain)


@dataclass
class TokenRecord:
    token: str
    user: str
    domain: str
    project: str
    issued_at: datetime
    expires_at: datetime


class AccountsMixin(StateCore):
    """Users, issued tokens (kept across :meth:`reset`), static tokens and AK/SK pairs."""

    def _init_accounts(
        self,
        users: dict[str, tuple[str, str]] | None,
        static_tokens: tuple[str, ...] | list[str],
        aksk: dict[str, str] | None,
    ) -> None:
        users = {"demo": ("demo-password", "demo-domain")} if users is None else users
        self.users: dict[str, User] = {name: User(name, pw, dom) for name, (pw, dom) in users.items()}
        self.static_tokens: tuple[str, ...] = tuple(static_tokens)
        self.aksk: dict[str, str] = dict(aksk or {})
        self.tokens: dict[str, TokenRecord] = {}

    def default_user(self) -> User:
        if self.users:
            return next(iter(self.users.values()))
        return User("emulator", "", "emulator-domain")

    def issue_token(
        self, user: str | None = None, project: str | None = None, lifetime: timedelta = TOKEN_LIFETIME
    ) -> TokenRecord:
        with self.mutating():
            account = self.users.get(user) if user else self.default_user()
            if account is None:
                raise StateError(f"unknown user {user!r}")
            now = self.now()
            token = "MIIemu" + secrets.token_urlsafe(48)
            record = TokenRecord(
                token, account.name, account.domain, project or self.default_region, now, now + lifetime
            )
            self.tokens[token] = record
            return record

    def check_token(self, token: str) -> tuple[User | None, str]:
        """(user, "") if valid, else (None, reason). Static tokens map to the default user."""
        with self.lock:
            if token in self.static_tokens:
                return self.default_user(), ""
            record = self.tokens.get(token)
            if record is None:
                return None, "invalid token"
            if self.now() >= record.expires_at:
                return None, "The token must be updated"
            return self.users.get(record.user) or User(record.user, "", record.domain), ""

    def expire_tokens(self, user: str | None = None) -> int:
        """Expire every issued token (of ``user``, if given) now, as IAM would after 24 h; static tokens are
        not affected. A client that cached one gets 401 "The token must be updated" on its next call."""
        with self.mutating():
            now = self.now()
            hit = [r for r in self.tokens.values() if user is None or r.user == user]
            for record in hit:
                record.expires_at = min(record.expires_at, now)
            return len(hit)
