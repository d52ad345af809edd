"""Secret hygiene: known secrets never show in log lines, exception text, or repr(settings), even when echoed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from shared.logs import logs, redact
from shared.runtime.config import SwrSettings, env_lookup, load_settings
from shared.runtime.connect import connect
from shared.swr.auth import AkSkAuth, IamPasswordAuth, TokenAuth
from shared.swr.client import SwrClient
from shared.swr.errors import ConfigError, SwrSyncError
from shared.swr.http import RetryPolicy, UrllibTransport
from shared.swr.models import SyncImagesRequest

from .conftest import LogCapture, MaxJitter, Sleeps

TOKEN = "tok-SECRET-a1b2c3d4e5"
AK = "AKSECRET99999"
SK = "SKSECRET88888-zz"
STS = "STS-SECRET+/=77777"
PASSWORD = "IAM-PW-SECRET-6666"
SUBJECT_TOKEN = "MIIsubject-SECRET-token-5555"
SECRETS = [TOKEN, AK, SK, STS, PASSWORD, SUBJECT_TOKEN]
PATH = "/v2/manage/namespaces/ns1/repos/group$app/sync_images"
BODY = SyncImagesRequest(imageTag=["v1"], remoteNamespace="ns2", remoteRegionId="ap-southeast-1")


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        for form in {secret, json.dumps(secret)[1:-1]}:
            assert form not in text, f"{secret!r} leaked in {where}: {text[:2000]}"


@pytest.fixture
def settings() -> SwrSettings:
    env = {
        "SWR_ENDPOINT": "http://127.0.0.1:1",
        "SWR_AUTH_TOKEN": TOKEN,
        "CLOUD_SDK_AK": AK,
        "CLOUD_SDK_SK": SK,
        "CLOUD_SDK_SECURITY_TOKEN": STS,
        "IAM_USERNAME": "alice",
        "IAM_PASSWORD": PASSWORD,
        "IAM_DOMAIN": "acme",
        "IAM_PROJECT": "cn-north-4",
    }
    return load_settings(SwrSettings, env_lookup(env))


def test_settings_repr_and_str_hold_no_secret(settings: SwrSettings) -> None:
    assert settings.auth_token == TOKEN and settings.iam_password == PASSWORD
    _assert_clean(repr(settings), "repr(settings)")
    _assert_clean(str(settings), "str(settings)")
    assert "alice" in repr(settings)  # not everything is hidden


def test_subclass_settings_repr_masks_secret_named_fields() -> None:
    from pydantic import Field

    class FnSettings(SwrSettings):
        webhook_secret: str | None = Field(default=None, alias="WEBHOOK_SECRET")
        alert_webhook_url: str | None = Field(default=None, alias="ALERT_WEBHOOK_URL")
        batch_size: int = Field(default=5, alias="BATCH_SIZE")

    s = load_settings(
        FnSettings,
        env_lookup(
            {
                "SWR_REGION": "cn-north-4",
                "WEBHOOK_SECRET": "whsec-SECRET-1",
                "ALERT_WEBHOOK_URL": "https://h/SECRET-2",
            }
        ),
    )
    assert "whsec-SECRET-1" not in repr(s) and "SECRET-2" not in repr(s)
    assert "batch_size=5" in repr(s) and "webhook_secret='***'" in repr(s)


def test_config_error_holds_no_secret() -> None:
    env = {"SWR_AUTH_TOKEN": TOKEN, "IAM_PASSWORD": PASSWORD, "HTTP_TIMEOUT": TOKEN, "SWR_ENDPOINT": PASSWORD}
    with pytest.raises(ConfigError) as info:
        load_settings(SwrSettings, env_lookup(env))
    _assert_clean(str(info.value), "str(ConfigError)")
    _assert_clean(" ".join(info.value.problems), "ConfigError.problems")
    assert any(p.startswith("HTTP_TIMEOUT:") for p in info.value.problems)


@pytest.fixture
def log_like_a_function(captured_logs: LogCapture) -> Iterator[LogCapture]:
    logs.bind_invocation("push_sync", "req-1", True, "corr-1")
    yield captured_logs
    logs.clear_invocation()


def _log_failure(err: SwrSyncError) -> None:
    """How the functions log a failed call: the typed error, its dict, the exception with traceback."""
    log = logs.get_logger()
    log.error("sync failed", error=str(err), error_repr=repr(err), **getattr(err, "to_dict", dict)())
    log.warning("sync failed (object)", error=err, args=err.args)
    try:
        raise err
    except SwrSyncError:
        log.exception("sync failed (traceback)")


def _run(client: SwrClient) -> SwrSyncError:
    with pytest.raises(SwrSyncError) as info:
        client.sync_images("ns1", "group/app", BODY)
    return info.value


def _client(httpserver: HTTPServer, auth: object, sleeps: Sleeps) -> SwrClient:
    log = logs.get_logger()
    return SwrClient(
        httpserver.url_for("/"),
        auth,  # type: ignore[arg-type]
        policy=RetryPolicy(max_attempts=2, sleep=sleeps, rng=MaxJitter()),
        on_retry=lambda attempt, delay, error: log.warning("retrying", attempt=attempt, error=error),
    )


def test_token_echoed_in_a_401_body(
    httpserver: HTTPServer, log_like_a_function: LogCapture, settings: SwrSettings, sleeps: Sleeps
) -> None:
    httpserver.expect_request(PATH).respond_with_json(
        [
            {
                "errorCode": "SVCSTG.SWR.4010000",
                "errorMessage": f"invalid token {TOKEN}",
                "detail": f"X-Auth-Token: {TOKEN}",
            }
        ],
        status=401,
    )
    err = _run(_client(httpserver, TokenAuth(TOKEN), sleeps))
    _log_failure(err)
    _assert_clean(str(err), "str(AuthError)")
    _assert_clean(repr(err), "repr(AuthError)")
    _assert_clean(log_like_a_function.text, "logs")
    assert "***" in str(err)
    assert len(log_like_a_function.lines()) == 3


def test_apig_canonical_request_echo_with_security_token(
    httpserver: HTTPServer, log_like_a_function: LogCapture, settings: SwrSettings, sleeps: Sleeps
) -> None:
    def echo(request):  # type: ignore[no-untyped-def]
        from werkzeug import Response

        auth = request.headers["Authorization"]
        canonical = (
            f"POST|/v2/manage/namespaces/ns1/repos/group%24app/sync_images/||content-type:application/json|"
            f"host:{request.headers['Host']}|x-security-token:{STS}|x-sdk-date:{request.headers['X-Sdk-Date']}||"
            f"content-type;host;x-security-token;x-sdk-date|abc"
        )
        body = {
            "error_code": "APIG.0303",
            "error_msg": f"Verify signature fail: {canonical} {auth}",
            "request_id": "r1",
        }
        return Response(json.dumps(body), status=401, content_type="application/json")

    httpserver.expect_request(PATH).respond_with_handler(echo)
    err = _run(_client(httpserver, AkSkAuth(AK, SK, STS, "pid"), sleeps))
    _log_failure(err)
    _assert_clean(str(err), "str(AuthError)")
    _assert_clean(log_like_a_function.text, "logs")
    assert "Verify signature fail" in str(err)  # the useful part survives


def test_500s_echoing_secrets_with_retries(
    httpserver: HTTPServer, log_like_a_function: LogCapture, settings: SwrSettings, sleeps: Sleeps
) -> None:
    httpserver.expect_request(PATH).respond_with_data(
        f"<html>upstream said: password={PASSWORD} ak={AK} sk={SK} Bearer {TOKEN}</html>", status=500
    )
    err = _run(_client(httpserver, TokenAuth(TOKEN), sleeps))
    _log_failure(err)
    assert len(httpserver.log) == 2
    _assert_clean(str(err), "str(ApiError)")
    _assert_clean(log_like_a_function.text, "logs")
    assert any(line["message"] == "retrying" for line in log_like_a_function.lines())


def test_iam_401_echoing_the_password(
    httpserver: HTTPServer, log_like_a_function: LogCapture, settings: SwrSettings, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/v3/auth/tokens").respond_with_json(
        {
            "error": {
                "code": 401,
                "message": f"The username or password is wrong: {PASSWORD}",
                "title": "Unauthorized",
            }
        },
        status=401,
    )
    auth = IamPasswordAuth(
        httpserver.url_for("/"), "alice", PASSWORD, "acme", "cn-north-4", UrllibTransport()
    )
    err = _run(_client(httpserver, auth, sleeps))
    _log_failure(err)
    _assert_clean(str(err), "str(AuthError)")
    _assert_clean(log_like_a_function.text, "logs")


def test_swr_401_after_iam_token_keeps_the_subject_token_out(
    httpserver: HTTPServer, log_like_a_function: LogCapture, sleeps: Sleeps
) -> None:
    httpserver.expect_request("/v3/auth/tokens").respond_with_json(
        {"token": {"expires_at": "2999-01-01T00:00:00.000000Z"}},
        status=201,
        headers={"X-Subject-Token": SUBJECT_TOKEN},
    )
    httpserver.expect_request(PATH).respond_with_json(
        [{"errorCode": "SVCSTG.SWR.4010000", "errorMessage": f"bad token {SUBJECT_TOKEN}"}], status=401
    )
    auth = IamPasswordAuth(
        httpserver.url_for("/"), "alice", PASSWORD, "acme", "cn-north-4", UrllibTransport()
    )
    err = _run(_client(httpserver, auth, sleeps))
    _log_failure(err)
    _assert_clean(str(err), "str(AuthError)")
    _assert_clean(log_like_a_function.text, "logs")


def test_connect_registers_every_configured_secret(
    httpserver: HTTPServer, log_like_a_function: LogCapture, settings: SwrSettings, sleeps: Sleeps
) -> None:
    # Whatever the auth picked, all secrets read from the configuration are scrubbed from anything logged.
    client = connect(settings, endpoint=httpserver.url_for("/"))
    log = logs.get_logger()
    log.info(
        "debug dump",
        settings=repr(settings),
        dumped=settings.model_dump(),
        text=f"{TOKEN} {AK} {SK} {STS} {PASSWORD}",
    )
    log.info("client", client=client)
    _assert_clean(log_like_a_function.text, "logs")


def test_transport_error_text_holds_no_secret(sleeps: Sleeps, settings: SwrSettings) -> None:
    from .test_retries import _free_port

    client = SwrClient(
        f"http://127.0.0.1:{_free_port()}", TokenAuth(TOKEN), policy=RetryPolicy(max_attempts=1, sleep=sleeps)
    )
    err = _run(client)
    _assert_clean(str(err) + repr(err), "TransportError")


def test_every_registered_secret_is_masked_in_its_json_escaped_form(captured_logs: LogCapture) -> None:
    """A secret holding a quote or a backslash appears escaped in a JSON log line. Registering a second secret
    once dropped the first one's escaped form, so the first leaked from every line logged after that."""
    first, second = 'pa"ss\\word-1', 'se"cret\\value-2'
    redact.register_secret(first)
    redact.register_secret(second)
    log = logs.get_logger()
    log.info("echo", detail=f"server said {first} and {second}")
    line = captured_logs.text
    assert json.dumps(first)[1:-1] not in line and json.dumps(second)[1:-1] not in line, line
    assert line.count(redact.MASK) == 2, line


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abcdefgh12345678",
        "authorization: BASIC dXNlcjpwYXNzd29yZA==",
        "header BeArEr abcdefgh12345678 end",
        "non-ASCII line é, then bearer abcdefgh12345678",
        "ba\u017fic abcdefgh12345678",  # U+017F matches "s" under the regex's IGNORECASE; the fast test must not skip it
    ],
)
def test_scrub_masks_bearer_and_basic_tokens_in_any_case(text: str) -> None:
    scrubbed = redact.scrub(text)
    assert "abcdefgh12345678" not in scrubbed and "dXNlcjpwYXNzd29yZA==" not in scrubbed
    assert redact.MASK in scrubbed
