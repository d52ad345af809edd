"""Structured JSON logs: Powertools-style keys, LOG_LEVEL filtering, redaction by key and by value."""

from __future__ import annotations

import io
import json
import re

import pytest

from shared.logs import logs
from shared.logs.redact import MASK, is_secret_key, redact, register_secret, scrub

from .conftest import LogCapture

HEAD = ["timestamp", "level", "message", "function_name", "request_id", "cold_start", "correlation_id"]


def test_json_lines_with_powertools_keys(captured_logs: LogCapture) -> None:
    logs.bind_invocation("push_sync", "req-1", True, "corr-1")
    logs.get_logger().info("synced", namespace="ns1", tags=["v1"], count=2)
    logs.bind_invocation("push_sync", "req-2", False, "corr-2")
    logs.get_logger().warning("multi\nline\tmessage")
    first, second = captured_logs.lines()
    assert list(first)[: len(HEAD)] == HEAD
    assert first == {
        "timestamp": first["timestamp"],
        "level": "info",
        "message": "synced",
        "function_name": "push_sync",
        "request_id": "req-1",
        "cold_start": True,
        "correlation_id": "corr-1",
        "namespace": "ns1",
        "tags": ["v1"],
        "count": 2,
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", first["timestamp"])
    assert (second["level"], second["cold_start"], second["message"]) == (
        "warning",
        False,
        "multi\nline\tmessage",
    )
    assert len(captured_logs.text.splitlines()) == 2  # a newline in a message never splits a line


def test_lines_without_an_invocation_have_no_context(captured_logs: LogCapture) -> None:
    logs.clear_invocation()
    logs.get_logger().info("startup")
    (line,) = captured_logs.lines()
    assert set(line) == {"timestamp", "level", "message"}


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        ("DEBUG", ["debug", "info", "warning", "error"]),
        ("info", ["info", "warning", "error"]),
        ("WARNING", ["warning", "error"]),
        ("error", ["error"]),
        ("nonsense", ["info", "warning", "error"]),  # unknown: INFO
    ],
)
def test_log_level_filtering(level: str, shown: list[str]) -> None:
    stream = io.StringIO()
    logs.configure(level, stream=stream)
    log = logs.get_logger()
    log.debug("d")
    log.info("i")
    log.warning("w")
    log.error("e")
    assert [json.loads(line)["level"] for line in stream.getvalue().splitlines()] == shown


def test_level_change_keeps_the_configured_stream(captured_logs: LogCapture) -> None:
    logs.configure("ERROR")  # what FunctionApp does once settings are loaded
    logs.get_logger().warning("dropped")
    logs.get_logger().error("kept")
    assert [line["message"] for line in captured_logs.lines()] == ["kept"]


def test_default_stream_is_stdout_at_logger_creation(capsys: pytest.CaptureFixture[str]) -> None:
    logs.reset()
    logs.get_logger().info("to stdout")
    assert json.loads(capsys.readouterr().out)["message"] == "to stdout"


def test_exceptions_are_logged_with_traceback_in_one_line(captured_logs: LogCapture) -> None:
    register_secret("exc-SECRET-value-1")
    try:
        raise RuntimeError("failed with exc-SECRET-value-1")
    except RuntimeError:
        logs.get_logger().exception("boom", step="sync")
    (line,) = captured_logs.lines()
    assert line["level"] == "error" and line["step"] == "sync"
    assert "Traceback" in line["exception"] and "RuntimeError" in line["exception"]
    assert "exc-SECRET-value-1" not in captured_logs.text


def test_redaction_of_secret_keys_and_headers_in_nested_dicts(captured_logs: LogCapture) -> None:
    logs.get_logger().info(
        "request",
        token="tok-plain-1",
        password="pw-plain-2",
        ak="ak-plain-3",
        sk="sk-plain-4",
        CLOUD_SDK_SK="sk-plain-5",
        iam_password="pw-plain-6",
        request={
            "method": "POST",
            "headers": {
                "Authorization": "SDK-HMAC-SHA256 Access=AKX, SignedHeaders=host;x-sdk-date, Signature=abcdef0123",
                "X-Auth-Token": "tok-plain-7",
                "x-security-token": "sts-plain-8",
                "X-Subject-Token": "sub-plain-9",
                "Content-Type": "application/json",
            },
            "attempts": [
                {"headers": {"X-Auth-Token": "tok-plain-10"}},
                {"auth": {"password": "pw-plain-11"}},
            ],
        },
        credentials={"accessKey": "ak-plain-12", "secretKey": "sk-plain-13", "securityToken": "sts-plain-14"},
        auth_mode="password",
        token_expires_at="2024-01-01T00:00:00Z",
        has_token=True,
    )
    text = captured_logs.text
    for n in range(1, 15):
        assert f"-plain-{n}" not in text, n
    assert "abcdef0123" not in text
    (line,) = captured_logs.lines()
    headers = line["request"]["headers"]
    assert (
        headers["Authorization"] == MASK
        and headers["X-Auth-Token"] == MASK
        and headers["x-security-token"] == MASK
    )
    assert headers["Content-Type"] == "application/json"
    assert line["request"]["attempts"][1]["auth"]["password"] == MASK
    assert line["auth_mode"] == "password"  # metadata about secrets stays readable
    assert line["token_expires_at"] == "2024-01-01T00:00:00Z"
    assert line["has_token"] is True


def test_redaction_of_secret_values_anywhere(captured_logs: LogCapture) -> None:
    register_secret("value-SECRET-abc123")
    register_secret("abc")  # too short to register: would mask ordinary words
    logs.get_logger().info(
        "echo value-SECRET-abc123",
        detail="server said: value-SECRET-abc123!",
        nested={"list": ["x value-SECRET-abc123 y"], "bytes": b"raw value-SECRET-abc123"},
        obj=ValueError("value-SECRET-abc123"),
        header_line="Authorization: SDK-HMAC-SHA256 Access=AKID99, SignedHeaders=host, Signature=deadbeef99",
        bearer="Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
    )
    text = captured_logs.text
    assert "value-SECRET-abc123" not in text and "AKID99" not in text and "deadbeef99" not in text
    assert "eyJhbGciOiJIUzI1NiJ9" not in text
    (line,) = captured_logs.lines()
    assert line["message"] == f"echo {MASK}"
    assert line["nested"]["bytes"] == f"raw {MASK}"
    assert (
        line["header_line"]
        == f"Authorization: SDK-HMAC-SHA256 Access={MASK}, SignedHeaders=host, Signature={MASK}"
    )
    assert line["bearer"] == f"Authorization: Bearer {MASK}"
    assert line["obj"] == MASK


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "TOKEN",
        "password",
        "passwd",
        "secret",
        "sk",
        "ak",
        "SWR_AUTH_TOKEN",
        "IAM_PASSWORD",
        "CLOUD_SDK_AK",
        "CLOUD_SDK_SK",
        "CLOUD_SDK_SECURITY_TOKEN",
        "Authorization",
        "X-Auth-Token",
        "X-Security-Token",
        "X-Subject-Token",
        "access_key",
        "secret-key",
        "api_key",
        "apiKey",
        "authToken",
        "securityToken",
        "sessionToken",
        "clientSecret",
        "accessKeyId",
        "privateKey",
        "cookie",
        "Set-Cookie",
        "webhook_secret",
        "signature",
        "credentials",
    ],
)
def test_secret_keys(key: str) -> None:
    assert is_secret_key(key)
    assert redact({key: "v"}) == {key: MASK}


@pytest.mark.parametrize(
    "key",
    [
        "namespace",
        "repository",
        "tag",
        "task",
        "disk",
        "ask",
        "message",
        "auth_mode",
        "authMode",
        "token_expires_at",
        "token_requests",
        "password_expires_at",
        "tokenType",
        "request_id",
        "status",
        "skip",
        "akamai",
        "desk",
    ],
)
def test_not_secret_keys(key: str) -> None:
    assert not is_secret_key(key)
    assert redact({key: "v"}) == {key: "v"}


def test_redact_keeps_json_scalars_and_empty_secrets() -> None:
    assert redact({"token": None, "password": "", "n": 1, "f": 1.5, "b": False, "t": (1, "x")}) == {
        "token": None,
        "password": "",
        "n": 1,
        "f": 1.5,
        "b": False,
        "t": [1, "x"],
    }
    deep: dict[str, object] = {}
    cur = deep
    for _ in range(30):
        cur["d"] = {}
        cur = cur["d"]  # type: ignore[assignment]
    json.dumps(redact(deep))  # bounded depth, no recursion error


def test_scrub_longest_secret_first() -> None:
    register_secret("SECRET-aaaa")
    register_secret("SECRET-aaaa-longer")
    assert scrub("x SECRET-aaaa-longer y SECRET-aaaa") == f"x {MASK} y {MASK}"


def test_a_lone_surrogate_is_escaped_and_the_line_stays_writable(captured_logs: LogCapture) -> None:
    """JSON input can carry "\\ud800" (a lone surrogate once decoded); a log line echoing it must still be
    UTF-8 encodable, or the write fails after the work is done. Other non-ASCII text stays readable."""
    logs.get_logger().info("echo", digest="sha256:\ud800abc", name="café")
    other = logs.get_logger()
    other.info("plain", name="café")
    first, second = captured_logs.text.splitlines()
    first.encode("utf-8")  # raises on a lone surrogate
    assert json.loads(first)["digest"] == "sha256:\ud800abc" and "\\ud800" in first
    assert "café" in second
