"""Configuration of the state store and of other regions' endpoints."""

from __future__ import annotations

import pytest

from functions.job_monitor.settings import MonitorSettings
from shared.runtime.config import env_lookup, load_settings
from shared.swr.endpoints import region_endpoint
from shared.swr.errors import ConfigError
from tests.push_sync.conftest import make_settings


def test_other_regions_are_derived_like_the_source() -> None:
    assert region_endpoint("ap-southeast-1") == "https://swr-api.ap-southeast-1.myhuaweicloud.com"
    assert region_endpoint("eu-west-101") == "https://swr-api.eu-west-101.myhuaweicloud.eu"
    src = "https://swr-api.cn-north-4.myhuaweicloud.com"
    assert region_endpoint("ap-southeast-3", None, src, "cn-north-4") == (
        "https://swr-api.ap-southeast-3.myhuaweicloud.com"
    )
    template = "http://127.0.0.1:8780/regions/{region}"
    assert region_endpoint("ap-southeast-1", template, src, "cn-north-4") == (
        "http://127.0.0.1:8780/regions/ap-southeast-1"
    )


def test_an_endpoint_that_cannot_be_derived_says_what_to_set() -> None:
    with pytest.raises(ValueError, match="set SWR_ENDPOINT_TEMPLATE"):
        region_endpoint("ap-southeast-1", None, "http://127.0.0.1:8780", "cn-north-4")
    with pytest.raises(ValueError, match="invalid region id"):
        region_endpoint("../../evil", "http://x/{region}")


def monitor(**env: str) -> MonitorSettings:
    base = {"SWR_REGION": "cn-north-4", "SWR_AUTH_TOKEN": "t", "MONITOR_REPOS": "demo/app"}
    return load_settings(MonitorSettings, env_lookup(environ={**base, **env}))


def test_monitor_settings_of_the_proof() -> None:
    s = monitor()
    assert (s.verify_after_seconds, s.max_intents, s.reports_kept, s.state_redis_url) == (900, 500, 50, None)
    with pytest.raises(ConfigError) as err:
        monitor(SWR_ENDPOINT_TEMPLATE="http://x/no-placeholder", STATE_REDIS_URL="http://nope")
    assert "SWR_ENDPOINT_TEMPLATE: must be an http(s) URL with a {region} placeholder" in err.value.problems
    assert "STATE_REDIS_URL: must be a redis://, rediss:// or unix:// URL" in err.value.problems


def test_idempotency_redis_url_is_a_deprecated_alias_of_state_redis_url() -> None:
    old = make_settings(IDEMPOTENCY_REDIS_URL="redis://127.0.0.1:6379/0")
    assert old.redis_url == "redis://127.0.0.1:6379/0"
    both = make_settings(IDEMPOTENCY_REDIS_URL="redis://old:6379/0", STATE_REDIS_URL="redis://new:6379/0")
    assert both.redis_url == "redis://new:6379/0"
    with pytest.raises(ConfigError, match="STATE_REDIS_URL: must be a redis"):
        make_settings(STATE_REDIS_URL="memcached://x")


def test_redis_urls_never_show_in_repr() -> None:
    s = make_settings(STATE_REDIS_URL="redis://:hunter2secret@127.0.0.1:6379/0")
    assert "hunter2secret" not in repr(s)


def test_the_deprecated_alias_still_works_and_says_so_once(
    redis_url: str, emulator: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import json

    from functions.push_sync import intents
    from shared.logs import logs
    from shared.state import get_state
    from shared.state.intents import OPEN_INDEX
    from tests.push_sync.conftest import Caller

    monkeypatch.setattr(intents, "_deprecation_logged", False)
    emulator.state.add_image("demo", "team/app", "v1")  # type: ignore[attr-defined]
    emulator.state.add_namespace("demo", region="ap-southeast-1")  # type: ignore[attr-defined]
    call = Caller(make_settings(SWR_ENDPOINT=emulator.url, IDEMPOTENCY_REDIS_URL=redis_url))  # type: ignore[attr-defined]
    stream = io.StringIO()
    logs.configure("INFO", stream)
    try:
        for _ in range(2):
            assert (
                call(
                    {
                        "namespace": "demo",
                        "repository": "team/app",
                        "tags": ["v1"],
                        "digest": "sha256:" + "a" * 64,
                    }
                ).status
                == 200
            )
    finally:
        logs.reset()
    warnings = [json.loads(x)["message"] for x in stream.getvalue().splitlines() if "deprecated" in x]
    assert warnings == [
        "IDEMPOTENCY_REDIS_URL is deprecated: set STATE_REDIS_URL to the same URL (see README, State)"
    ]
    assert get_state(redis_url).index_size(OPEN_INDEX) == 1  # the intent is in that Redis
