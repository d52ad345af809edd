"""Configuration that holds secrets: a URL whose password has ``/``, ``?``, ``#`` or ``@`` in it is refused at
cold start with a message that names the variable and shows no part of the secret; a valid one has every form
of its secret (whole, URL-decoded, user info, password, query values) registered for redaction."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from functions.job_monitor.settings import MonitorSettings
from functions.push_sync.settings import PushSyncSettings
from shared.logs.redact import scrub
from shared.runtime.config import load_settings
from shared.swr.errors import ConfigError

RULES = '[{"targets": [{"region": "ap-southeast-1", "namespace": "dr"}]}]'
BASE = {
    "SYNC_RULES": RULES,
    "WEBHOOK_SECRET": "secret-url-webhook-secret-0123",
    "SWR_AUTH_TOKEN": "secret-url-swr-token-0123456789",
    "SWR_REGION": "cn-north-4",
}
PASSWORDS = [
    "Zq9/Xv8Kw2Rt",
    "Zq9?Xv8Kw2Rt",
    "Zq9#Xv8Kw2Rt",
    "Zq9@Xv8Kw2Rt",
    "Zq9/X?v8#K@w2Rt",
    "/Zq9Xv8Kw2Rt@",
]


def _windows(secret: str, size: int = 4) -> set[str]:
    core = secret.strip("/?#@")
    return {core[i : i + size] for i in range(len(core) - size + 1)}


def _load(env: dict[str, str]) -> PushSyncSettings:
    return load_settings(PushSyncSettings, {**BASE, **env}.get)


@pytest.mark.parametrize("password", PASSWORDS)
@pytest.mark.parametrize("user", ["", "default"])
@pytest.mark.parametrize("tail", ["", "/0", ":6380/1?ssl_cert_reqs=none"])
def test_a_redis_url_with_reserved_characters_in_the_password_is_refused_unshown(
    password: str, user: str, tail: str
) -> None:
    url = f"redis://{user}:{password}@127.0.0.1{tail}"
    with pytest.raises(ConfigError) as info:
        _load({"IDEMPOTENCY_REDIS_URL": url})
    message = str(info.value)
    assert "IDEMPOTENCY_REDIS_URL" in message and "percent-encode" in message
    leaked = [w for w in _windows(password) if w in message]
    assert not leaked, f"message shows {leaked}: {message}"


@pytest.mark.parametrize("password", PASSWORDS)
def test_the_percent_encoded_url_is_accepted_and_every_form_is_redacted(password: str) -> None:
    encoded = quote(password, safe="")
    url = f"redis://default:{encoded}@127.0.0.1:6379/0"
    settings = _load({"IDEMPOTENCY_REDIS_URL": url})
    assert settings.idempotency_redis_url == url
    for form in (url, password, encoded, f"default:{password}", f"default:{encoded}"):
        text = f"connecting with {form} failed"
        assert form not in scrub(text), form
    assert password not in repr(settings) and encoded not in repr(settings)


@pytest.mark.parametrize(
    "url", ["redis://:pw@host:notaport/0", "redis://:pw@host:99999/0", "redis://:pw@[::1/0"]
)
def test_a_malformed_redis_url_is_refused_without_quoting_it(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load({"IDEMPOTENCY_REDIS_URL": url})
    assert "IDEMPOTENCY_REDIS_URL: not a valid URL" in str(info.value)
    assert "notaport" not in str(info.value) and "99999" not in str(info.value)


def test_webhook_url_token_parts_are_registered() -> None:
    token = "dingtalk-access-token-0123456789abcdef"
    url = f"https://oapi.example.com/robot/send?access_token={token}&note=a@b"
    MonitorSettings.model_validate(
        {
            "SWR_AUTH_TOKEN": "secret-url-swr-token-0123456789",
            "SWR_REGION": "cn-north-4",
            "MONITOR_REPOS": "demo/app",
            "ALERT_WEBHOOK_URL": url,
        }
    )
    assert token not in scrub(f"the platform said: bad token {token}")
    slack = "https://hooks.slack.example/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"
    MonitorSettings.model_validate(
        {
            "SWR_AUTH_TOKEN": "secret-url-swr-token-0123456789",
            "SWR_REGION": "cn-north-4",
            "MONITOR_REPOS": "demo/app",
            "ALERT_WEBHOOK_URL": slack,
        }
    )
    assert "XXXXXXXXXXXXXXXXXXXXXXXX" not in scrub(
        "path /services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX refused"
    )
