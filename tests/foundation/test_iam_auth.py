"""IAM password auth: exact token request, cache across calls and warm invocations, expiry, refresh on 401."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from shared.swr.auth import IamPasswordAuth
from shared.swr.client import SwrClient
from shared.swr.errors import ApiError, AuthError
from shared.swr.http import Deadline, RetryPolicy, UrllibTransport

from .conftest import Sleeps

PASSWORD = "IAM-pa55word-SECRET"
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=timezone.utc)
SWR_PATH = "/v2/manage/regions"


class Iam:
    """IAM token endpoint: a new token per request, valid 24 h from the (frozen) current time."""

    def __init__(self, httpserver: HTTPServer) -> None:
        self.counter = itertools.count(1)
        self.issued: list[str] = []
        httpserver.expect_request("/v3/auth/tokens", method="POST").respond_with_handler(self)

    def __call__(self, req: Request) -> Response:
        token = f"IAM-TOKEN-{next(self.counter):04d}-xyz"
        self.issued.append(token)
        expires = (datetime.now(timezone.utc) + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = {"token": {"expires_at": expires, "methods": ["password"], "catalog": []}}
        return Response(
            json.dumps(body), status=201, headers={"X-Subject-Token": token}, content_type="application/json"
        )


def _auth(
    httpserver: HTTPServer, sleeps: Sleeps, user: str = "alice", project: str = "cn-north-4"
) -> IamPasswordAuth:
    return IamPasswordAuth(
        httpserver.url_for("/"),
        user,
        PASSWORD,
        "acme-domain",
        project,
        UrllibTransport(),
        RetryPolicy(max_attempts=3, sleep=sleeps),
    )


def _iam_requests(httpserver: HTTPServer) -> list[Request]:
    return [r for r, _ in httpserver.log if r.path == "/v3/auth/tokens"]


def _swr_tokens(httpserver: HTTPServer) -> list[str]:
    return [r.headers.get("X-Auth-Token", "") for r, _ in httpserver.log if r.path == SWR_PATH]


def test_iam_request_is_exact(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    Iam(httpserver)
    with freeze_time(T0):
        token = _auth(httpserver, sleeps).token(Deadline(None))
    assert token == "IAM-TOKEN-0001-xyz"
    (req,) = _iam_requests(httpserver)
    assert req.method == "POST"
    assert req.environ["REQUEST_URI"] == "/v3/auth/tokens?nocatalog=true"
    assert req.headers["Content-Type"] == "application/json;charset=utf8"
    assert json.loads(req.get_data()) == {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"domain": {"name": "acme-domain"}, "name": "alice", "password": PASSWORD}
                },
            },
            "scope": {"project": {"name": "cn-north-4"}},
        }
    }
    # The bytes are exactly json.dumps of that structure (key order kept).
    assert req.get_data() == json.dumps(json.loads(req.get_data())).encode()


def test_token_cached_across_calls_and_warm_invocations(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    iam = Iam(httpserver)
    httpserver.expect_request(SWR_PATH).respond_with_json([])
    with freeze_time(T0) as frozen:
        first = make_client(auth=_auth(httpserver, sleeps))
        first.list_regions()
        first.list_regions()
        # A warm invocation builds a new auth object (connect() per invocation): same key, same token.
        frozen.tick(timedelta(hours=5))
        second_auth = _auth(httpserver, sleeps)
        make_client(auth=second_auth).list_regions()
    assert len(_iam_requests(httpserver)) == 1
    assert second_auth.token_requests == 0
    assert _swr_tokens(httpserver) == [iam.issued[0]] * 3


def test_cache_key_separates_users_and_projects(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    Iam(httpserver)
    with freeze_time(T0):
        tokens = {
            _auth(httpserver, sleeps, "alice", "cn-north-4").token(Deadline(None)),
            _auth(httpserver, sleeps, "bob", "cn-north-4").token(Deadline(None)),
            _auth(httpserver, sleeps, "alice", "ap-southeast-1").token(Deadline(None)),
            _auth(httpserver, sleeps, "alice", "cn-north-4").token(Deadline(None)),
        }
    assert len(tokens) == 3
    assert len(_iam_requests(httpserver)) == 3


def test_token_refreshed_after_expiry_minus_margin(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    iam = Iam(httpserver)
    httpserver.expect_request(SWR_PATH).respond_with_json([])
    with freeze_time(T0) as frozen:
        make_client(auth=_auth(httpserver, sleeps)).list_regions()
        # expires_at = T0 + 24 h; default margin 10 min: still cached 1 s before the margin...
        frozen.move_to(T0 + timedelta(hours=23, minutes=49, seconds=59))
        make_client(auth=_auth(httpserver, sleeps)).list_regions()
        assert len(_iam_requests(httpserver)) == 1
        # ...and refreshed at the margin.
        frozen.move_to(T0 + timedelta(hours=23, minutes=50))
        make_client(auth=_auth(httpserver, sleeps)).list_regions()
    assert len(_iam_requests(httpserver)) == 2
    assert _swr_tokens(httpserver) == [iam.issued[0], iam.issued[0], iam.issued[1]]


def test_swr_401_refreshes_exactly_once_then_succeeds(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    iam = Iam(httpserver)
    httpserver.expect_oneshot_request(SWR_PATH).respond_with_json(
        [{"errorCode": "SVCSTG.SWR.4010000", "errorMessage": "token expired"}], status=401
    )
    httpserver.expect_request(SWR_PATH).respond_with_json([{"regionID": "r1"}])
    with freeze_time(T0):
        client = make_client(auth=_auth(httpserver, sleeps))
        assert [r.region_id for r in client.list_regions()] == ["r1"]
    assert len(_iam_requests(httpserver)) == 2
    assert _swr_tokens(httpserver) == iam.issued  # the retry carries the new token
    assert sleeps == []  # a refresh is not a backoff
    assert client.stats.requests == 2


def test_swr_401_twice_is_an_auth_error_without_looping(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    Iam(httpserver)
    httpserver.expect_request(SWR_PATH).respond_with_json(
        [{"errorCode": "SVCSTG.SWR.4010000", "errorMessage": "Authenticate Error"}],
        status=401,
        headers={"X-Request-Id": "req-401"},
    )
    with freeze_time(T0):
        client = make_client(auth=_auth(httpserver, sleeps))
        with pytest.raises(AuthError) as info:
            client.list_regions()
    assert info.value.status == 401
    assert info.value.code == "SVCSTG.SWR.4010000"
    assert info.value.request_id == "req-401"
    assert not info.value.retryable
    assert len(_iam_requests(httpserver)) == 2
    assert len(_swr_tokens(httpserver)) == 2
    assert sleeps == []


def test_iam_401_is_an_auth_error_not_retried(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    httpserver.expect_request("/v3/auth/tokens").respond_with_json(
        {"error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}},
        status=401,
    )
    client = make_client(auth=_auth(httpserver, sleeps))
    with pytest.raises(AuthError) as info:
        client.list_regions()
    assert info.value.status == 401
    assert info.value.code == "401"
    assert info.value.message == "The username or password is wrong."
    assert PASSWORD not in str(info.value)
    assert len(httpserver.log) == 1  # no SWR request without a token, IAM not retried


def test_iam_5xx_is_retried(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], sleeps: Sleeps
) -> None:
    httpserver.expect_oneshot_request("/v3/auth/tokens").respond_with_data("busy", status=503)
    iam = Iam(httpserver)
    httpserver.expect_request(SWR_PATH).respond_with_json([])
    with freeze_time(T0):
        make_client(auth=_auth(httpserver, sleeps)).list_regions()
    assert len(_iam_requests(httpserver)) == 2
    assert _swr_tokens(httpserver) == iam.issued
    assert len(sleeps) == 1


def test_iam_answer_without_subject_token(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request("/v3/auth/tokens").respond_with_json({"token": {}}, status=201)
    with pytest.raises(AuthError, match="X-Subject-Token"):
        _auth(httpserver, sleeps).token(Deadline(None))


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        ("2024-05-02T08:00:00.000000Z", datetime(2024, 5, 2, 8, tzinfo=timezone.utc)),
        ("2024-05-02T08:00:00.5Z", datetime(2024, 5, 2, 8, 0, 0, 500000, tzinfo=timezone.utc)),
        ("2024-05-02T08:00:00Z", datetime(2024, 5, 2, 8, tzinfo=timezone.utc)),
        ("2024-05-02T08:00:00", datetime(2024, 5, 2, 8, tzinfo=timezone.utc)),  # no zone: UTC, not local time
        ("2024-05-02T16:00:00+08:00", datetime(2024, 5, 2, 8, tzinfo=timezone.utc)),
        ("not a date", T0 + timedelta(hours=23)),
        (None, T0 + timedelta(hours=23)),
    ],
)
def test_expires_at_parsing(expires_at: str | None, expected: datetime) -> None:
    from shared.swr.auth import _expires_at

    assert _expires_at(json.dumps({"token": {"expires_at": expires_at}}).encode(), T0) == expected
    assert _expires_at(b"not json", T0) == T0 + timedelta(hours=23)


def test_iam_errors_are_api_errors(httpserver: HTTPServer, sleeps: Sleeps) -> None:
    httpserver.expect_request("/v3/auth/tokens").respond_with_json(
        {"error": {"code": 400, "message": "The request body is invalid", "title": "Bad Request"}}, status=400
    )
    with pytest.raises(ApiError) as info:
        _auth(httpserver, sleeps).token(Deadline(None))
    assert (info.value.status, info.value.code, info.value.message) == (
        400,
        "400",
        "The request body is invalid",
    )
