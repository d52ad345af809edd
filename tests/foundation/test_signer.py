"""SDK-HMAC-SHA256: the four vectors produced by the official SDK signer, and AkSkAuth as a server sees it."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from freezegun import freeze_time
from pytest_httpserver import HTTPServer
from werkzeug import Request

from shared.swr import signer
from shared.swr.auth import AgencyAuth, AkSkAuth
from shared.swr.client import SwrClient
from shared.swr.models import SyncImagesRequest

AK, SK = "AKEXAMPLE", "SKEXAMPLE"
HOST = "swr-api.cn-north-4.myhuaweicloud.com"
SIGNED = "content-type;host;x-project-id;x-sdk-date"
VECTORS = [
    (
        "POST",
        "/v2/manage/namespaces/ns1/repos/group%24app/sync_images",
        None,
        b'{"imageTag": ["v1"], "override": false, "remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}',
        "0df1f8b30d3690527c013e4cfd4901f09e6e177e3a484612106e295426d5c1a1",
    ),
    (
        "GET",
        "/v2/manage/namespaces/ns1/repos/app/sync_repo",
        None,
        b"",
        "3279cd0b382dca332c368d5f28b77aad381f3668b793f5a5658f3aca96ff2f8f",
    ),
    (
        "GET",
        "/v2/manage/namespaces/ns1/repos/app/sync_job",
        {"filter": "limit::10|offset::0|order::desc"},
        b"",
        "c8531996e3fdbd56e2ecc7a1d5396e59217383ccae79518192a8262e0b2a6ef0",
    ),
    (
        "POST",
        "/v2/manage/namespaces/ns1/repos/group%2Fapp/sync_images",
        None,
        b'{"imageTag":["v1"]}',
        "7162aea7c121f9317cae2996eb86619cdec9cdc31cd88c0bc55d9e7c0953e922",
    ),
]


def _vector_headers() -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Host": HOST,
        "X-Project-Id": "pid",
        "X-Sdk-Date": "20240101T000000Z",
    }


@pytest.mark.parametrize(("method", "path", "query", "body", "expected"), VECTORS)
def test_official_vectors(
    method: str, path: str, query: dict[str, str] | None, body: bytes, expected: str
) -> None:
    headers = signer.sign(AK, SK, method, path, query, _vector_headers(), body)
    assert headers["Authorization"] == (
        f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders={SIGNED}, Signature={expected}"
    )
    assert headers["X-Sdk-Date"] == "20240101T000000Z"  # kept, not replaced
    when = datetime(2024, 1, 1, 0, 5, tzinfo=timezone.utc)
    assert signer.verify({AK: SK}, method, path, query, headers, body, when) is None


def test_vector_canonical_request_pieces() -> None:
    assert signer.canonical_query({"filter": "limit::10|offset::0|order::desc"}) == (
        "filter=limit%3A%3A10%7Coffset%3A%3A0%7Corder%3A%3Adesc"
    )
    # '%2F' is unquoted before canonicalising: signed as two segments (why the repository uses '$').
    assert signer.canonical_uri("/v2/x/group%2Fapp/y") == "/v2/x/group/app/y/"
    assert signer.canonical_uri("/v2/x/group%24app/y") == "/v2/x/group%24app/y/"
    assert signer.canonical_uri("/v2/x/group$app/y") == "/v2/x/group%24app/y/"
    assert signer.canonical_uri("/") == "/"
    canonical, signed = signer.canonical_request(
        "get", "/v2/manage/namespaces/ns1/repos/app/sync_repo", None, _vector_headers(), b""
    )
    assert signed == SIGNED
    assert canonical == (
        "GET\n/v2/manage/namespaces/ns1/repos/app/sync_repo/\n\n"
        "content-type:application/json\nhost:"
        + HOST
        + "\nx-project-id:pid\nx-sdk-date:20240101T000000Z\n\n"
        + SIGNED
        + "\n"
        + signer.EMPTY_SHA256
    )
    assert hashlib.sha256(b"").hexdigest() == signer.EMPTY_SHA256


def test_canonical_query_sorting_lists_and_bools() -> None:
    assert signer.canonical_query({"b": ["2", "1"], "a": "x y", "c": True}) == "a=x%20y&b=1&b=2&c=true"  # type: ignore[dict-item]
    assert signer.canonical_query(None) == ""
    assert signer.canonical_query({}) == ""


def test_unsigned_payload_header_is_the_payload_hash() -> None:
    assert signer.payload_hash(b"abc", {"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}) == "UNSIGNED-PAYLOAD"
    assert signer.payload_hash(b"", {"X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD"}) == signer.EMPTY_SHA256


def _signed(**extra: str) -> tuple[dict[str, str], datetime]:
    when = datetime(2024, 1, 1, 12, 0, tzinfo=timezone.utc)
    headers = {"Host": HOST, "Content-Type": "application/json", **extra}
    return signer.sign(AK, SK, "GET", "/v2/manage/regions", None, headers, b"", now=when), when


@pytest.mark.parametrize(
    ("offset", "ok"),
    [
        (timedelta(0), True),
        (timedelta(minutes=14), True),
        (timedelta(minutes=-14), True),
        (timedelta(minutes=15, seconds=1), False),
        (timedelta(minutes=-16), False),
        (timedelta(days=1), False),
    ],
)
def test_verify_rejects_clock_skew_above_15_minutes(offset: timedelta, ok: bool) -> None:
    headers, when = _signed()
    reason = signer.verify({AK: SK}, "GET", "/v2/manage/regions", None, headers, b"", when + offset)
    assert (reason is None) is ok
    if not ok:
        assert reason is not None and "expired" in reason


def test_verify_accepts_a_naive_utc_now() -> None:
    headers, when = _signed()
    assert (
        signer.verify({AK: SK}, "GET", "/v2/manage/regions", None, headers, b"", when.replace(tzinfo=None))
        is None
    )


def test_verify_rejections() -> None:
    headers, when = _signed()
    ok = {AK: SK}

    def check(h: dict[str, str], **kw: object) -> str | None:
        args: dict[str, object] = {"method": "GET", "path": "/v2/manage/regions", "query": None, "body": b""}
        args.update(kw)
        return signer.verify(ok, headers=h, now=when, **args)  # type: ignore[arg-type]

    assert check(headers) is None
    assert check({**headers, "Host": HOST + ":8443"}) == "signature mismatch"
    assert check(headers, method="POST") == "signature mismatch"
    assert check(headers, body=b"{}") == "signature mismatch"
    assert check(headers, query={"x": "1"}) == "signature mismatch"
    assert check(headers, path="/v2/manage/namespaces") == "signature mismatch"
    assert check({k: v for k, v in headers.items() if k != "Authorization"}) is not None
    assert check({**headers, "Authorization": "Bearer abc"}) is not None
    assert check({**headers, "X-Sdk-Date": "yesterday"}) == "malformed X-Sdk-Date"
    assert check({k: v for k, v in headers.items() if k != "Content-Type"}) == (
        "signed header missing from request: content-type"
    )
    assert (
        signer.verify({"OTHER": SK}, "GET", "/v2/manage/regions", None, headers, b"", when)
        == "unknown access key"
    )
    assert (
        signer.verify({AK: "wrong"}, "GET", "/v2/manage/regions", None, headers, b"", when)
        == "signature mismatch"
    )
    # A signature that leaves host out is refused even if it matches.
    bare = signer.sign(AK, SK, "GET", "/", None, {"X-Sdk-Date": "20240101T120000Z"}, b"")
    assert signer.verify(ok, "GET", "/", None, bare, b"", when) == "host and x-sdk-date must be signed"


def test_parse_authorization() -> None:
    headers, _ = _signed()
    fields = signer.parse_authorization(headers["Authorization"])
    assert (
        fields is not None
        and fields["Access"] == AK
        and fields["SignedHeaders"] == "content-type;host;x-sdk-date"
    )
    assert signer.parse_authorization("SDK-HMAC-SHA256 Access=a") is None
    assert signer.parse_authorization("SDK-HMAC-SHA256 junk") is None


# -- over the wire -------------------------------------------------------------------------------------------------


def _verify_received(req: Request, sk_for_ak: dict[str, str], now: datetime) -> str | None:
    """What a server does: verify the request exactly as received (raw path, raw query, headers, body)."""
    target = urlsplit(req.environ["REQUEST_URI"])
    query = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(target.query, keep_blank_values=True).items()}
    return signer.verify(sk_for_ak, req.method, target.path, query, dict(req.headers), req.get_data(), now)


def test_aksk_request_verifies_on_the_server(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    httpserver.expect_request("/v2/manage/namespaces/ns1/repos/group$app/sync_images").respond_with_json([])
    httpserver.expect_request("/v2/manage/namespaces/ns1/repos/group$app/sync_job").respond_with_json([])
    client = make_client(auth=AkSkAuth("AK-WIRE-1234", "SK-WIRE-5678"))
    body = SyncImagesRequest(imageTag=["v1"], remoteNamespace="ns2", remoteRegionId="ap-southeast-1")
    client.sync_images("ns1", "group/app", body)
    client.list_sync_jobs("ns1", "group/app", limit=10)

    now = datetime.now(timezone.utc)
    for req, _ in httpserver.log:
        assert _verify_received(req, {"AK-WIRE-1234": "SK-WIRE-5678"}, now) is None
        fields = signer.parse_authorization(req.headers["Authorization"])
        assert fields is not None
        names = fields["SignedHeaders"].split(";")
        assert names == sorted(names)
        assert {"host", "x-sdk-date", "content-type", "user-agent"} <= set(names)
        # The host signed is the host sent, port included.
        assert req.headers["Host"] == f"{httpserver.host}:{httpserver.port}"
        assert "x-project-id" not in names and "x-security-token" not in names
        assert "X-Auth-Token" not in req.headers
        # A different SK or a wrong port would not verify.
        assert _verify_received(req, {"AK-WIRE-1234": "other"}, now) == "signature mismatch"
        tampered = dict(req.headers) | {"Host": f"{httpserver.host}:1"}
        target = urlsplit(req.environ["REQUEST_URI"])
        q = {k: v[0] for k, v in parse_qs(target.query).items()}
        assert (
            signer.verify(
                {"AK-WIRE-1234": "SK-WIRE-5678"}, req.method, target.path, q, tampered, req.get_data(), now
            )
            == "signature mismatch"
        )


def test_aksk_signs_security_token_and_project_id(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    httpserver.expect_request("/v2/manage/regions").respond_with_json([])
    client = make_client(auth=AkSkAuth("AK-TMP-1234", "SK-TMP-5678", "SECURITY-TOKEN-+/=abc", "proj-123"))
    client.list_regions()
    ((req, _),) = httpserver.log
    fields = signer.parse_authorization(req.headers["Authorization"])
    assert fields is not None
    assert {"x-security-token", "x-project-id"} <= set(fields["SignedHeaders"].split(";"))
    assert req.headers["X-Security-Token"] == "SECURITY-TOKEN-+/=abc"
    assert req.headers["X-Project-Id"] == "proj-123"
    assert _verify_received(req, {"AK-TMP-1234": "SK-TMP-5678"}, datetime.now(timezone.utc)) is None


def test_each_attempt_is_signed_afresh(httpserver: HTTPServer, make_client: Callable[..., SwrClient]) -> None:
    httpserver.expect_oneshot_request("/v2/manage/regions").respond_with_data("", status=503)
    httpserver.expect_request("/v2/manage/regions").respond_with_json([])
    with freeze_time("2024-01-01T12:00:00Z") as frozen:
        client = make_client(auth=AkSkAuth("AK-RETRY-1234", "SK-RETRY-5678"))
        client.policy.sleep = lambda s: frozen.tick(timedelta(seconds=61))  # type: ignore[method-assign]
        client.list_regions()
    dates = [req.headers["X-Sdk-Date"] for req, _ in httpserver.log]
    assert dates == ["20240101T120000Z", "20240101T120101Z"]


def test_agency_auth_uses_context_token_or_temporary_keys(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    class TokenContext:
        def getToken(self) -> str:
            return "AGENCY-TOKEN-123456"

    class KeysContext:
        def getToken(self) -> str:
            return ""

        def getSecurityAccessKey(self) -> str:
            return "AGENCY-AK-1234"

        def getSecuritySecretKey(self) -> str:
            return "AGENCY-SK-5678"

        def getSecurityToken(self) -> str:
            return "AGENCY-STS-9999"

    httpserver.expect_request("/v2/manage/regions").respond_with_json([])
    make_client(auth=AgencyAuth(TokenContext())).list_regions()
    make_client(auth=AgencyAuth(KeysContext(), "proj-9")).list_regions()
    (first, _), (second, _) = httpserver.log
    assert first.headers["X-Auth-Token"] == "AGENCY-TOKEN-123456" and "Authorization" not in first.headers
    assert second.headers["X-Security-Token"] == "AGENCY-STS-9999"
    assert second.headers["X-Project-Id"] == "proj-9"
    assert _verify_received(second, {"AGENCY-AK-1234": "AGENCY-SK-5678"}, datetime.now(timezone.utc)) is None
    assert AgencyAuth.available(TokenContext()) and not AgencyAuth.available(object())
