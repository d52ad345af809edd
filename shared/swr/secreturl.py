"""URLs that carry secrets (``IDEMPOTENCY_REDIS_URL`` with a password, ``ALERT_WEBHOOK_URL`` with a token):
checked at cold start with messages that name the variable and never show any part of the value, and every
form in which a part of them may show up registered for redaction.

A password with ``/``, ``?``, ``#`` or ``@`` written as is makes a URL ambiguous: ``urlsplit`` (and redis-py,
which uses it) would end the host at the ``/`` and read part of the password as the host, port or path; an
error message about that port then quotes a piece of the password. Such a URL is refused: the fix is to
percent-encode those characters (``%2F``, ``%3F``, ``%23``, ``%40``).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

_RESERVED_IN_USERINFO = "/?#@"


def _userinfo(url: str) -> str | None:
    """What stands between ``scheme://`` and the last ``@`` before the host: the user name and password as
    written (a raw ``@`` in a password makes the last ``@`` the separator)."""
    _, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return None
    return rest.rpartition("@")[0]


def url_problems(
    name: str, url: str, schemes: tuple[str, ...], need_host: bool = True, userinfo: bool = True
) -> list[str]:
    """What is wrong with the secret-bearing ``url`` of variable ``name``; never quotes the value.

    ``userinfo``: the URL may carry a user name and password (Redis); a webhook URL's secret is in its path or
    query, where a raw ``@`` is ordinary, so that check is skipped for it.
    """
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme not in schemes:
        if set(schemes) == {"http", "https"}:
            return [f"{name}: must be an http(s) URL"]
        listed = ", ".join(s + "://" for s in schemes[:-1]) + f" or {schemes[-1]}://"
        return [f"{name}: must be a {listed} URL"]
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        return [f"{name}: holds whitespace or a control character (the value is not shown)"]
    written = _userinfo(url) if userinfo else None
    if written is not None and any(c in written for c in _RESERVED_IN_USERINFO):
        return [
            f"{name}: the user name or password holds '/', '?', '#' or '@' as is, which makes the URL "
            "ambiguous: percent-encode them (%2F, %3F, %23, %40) (the value is not shown)"
        ]
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        return [f"{name}: not a valid URL (bad host or port; the value is not shown)"]
    if need_host and scheme != "unix" and not parts.hostname:
        return [f"{name}: the URL has no host (the value is not shown)"]
    return []


def secret_forms(url: str) -> set[str]:
    """The whole URL, URL-decoded, and its parts that may be secret: the user info, the password, the user
    name, the query values and the path (webhook tokens live there), each as written and decoded."""
    forms = {url, unquote(url)}
    userinfo = _userinfo(url)
    if userinfo is not None:
        _user, _, password = userinfo.partition(":")
        forms.update({userinfo, unquote(userinfo), password, unquote(password)})
    try:
        parts = urlsplit(url)
    except ValueError:
        return {f for f in forms if f}
    for value in (parts.path, parts.query, parts.fragment):
        forms.update({value, unquote(value)})
    for _key, value in parse_qsl(parts.query, keep_blank_values=False):
        forms.add(value)
    # Path segments long enough to be tokens (a Slack hook's last segment, a DingTalk access token).
    forms.update(seg for seg in parts.path.split("/") if len(seg) >= 16)
    return {f for f in forms if f and f != "/"}
