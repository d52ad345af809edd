"""IAM tokens and AK/SK signatures as the emulator checks them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from freezegun import freeze_time

from localdev.emulator import Emulator
from shared.swr import signer
from shared.swr.auth import AkSkAuth, IamPasswordAuth, TokenAuth
from shared.swr.client import SwrClient
from shared.swr.errors import AuthError
from shared.swr.http import UrllibTransport
from tests.test_emulator_support import AK, SK, call

NS_PATH = "/v2/manage/namespaces"


def _token_body(user="demo", password="demo-password", domain="demo-domain", project="cn-north-4"):
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"domain": {"name": domain}, "name": user, "password": password}},
            },
            "scope": {"project": {"name": project}},
        }
    }


def test_iam_issues_token_in_documented_shape(emulator):
    status, headers, body = call(
        emulator.url, "POST", "/v3/auth/tokens?nocatalog=true", _token_body(), token=None,
        content_type="application/json;charset=utf8",
    )  # fmt: skip
    assert status == 201
    token = headers["x-subject-token"]
    t = body["token"]
    assert t["methods"] == ["password"] and "catalog" not in t
    assert (
        t["project"]["name"] == "cn-north-4"
        and t["project"]["id"]
        and t["project"]["domain"]["name"] == "demo-domain"
    )
    assert t["user"]["name"] == "demo" and t["user"]["domain"]["name"] == "demo-domain"
    issued = datetime.strptime(t["issued_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    expires = datetime.strptime(t["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert expires - issued == timedelta(hours=24)
    assert call(emulator.url, "GET", NS_PATH, token=token)[0] == 200
    assert token not in json.dumps(emulator.state.requests())


@pytest.mark.parametrize(
    "body",
    [
        _token_body(password="Pa55-not-right"),
        _token_body(user="nobody"),
        _token_body(domain="other-domain"),
    ],
)
def test_iam_bad_credentials_are_401_iam_shape(emulator, body):
    status, headers, err = call(emulator.url, "POST", "/v3/auth/tokens", body, token=None)
    assert status == 401
    assert err == {
        "error": {"code": 401, "message": "The username or password is wrong.", "title": "Unauthorized"}
    }
    assert "x-subject-token" not in headers and "Pa55-not-right" not in json.dumps(err)


@pytest.mark.parametrize(
    "raw", [b"", b"{", b"[]", b'{"auth":{}}', b'{"auth":{"identity":{"methods":["token"]}}}']
)
def test_iam_malformed_body_is_400_iam_shape(emulator, raw):
    status, _, err = call(emulator.url, "POST", "/v3/auth/tokens", raw=raw, token=None)
    assert status == 400 and err["error"]["code"] == 400 and err["error"]["title"] == "Bad Request"


def test_iam_password_is_masked_in_request_log(emulator):
    call(emulator.url, "POST", "/v3/auth/tokens", _token_body(), token=None)
    assert "demo-password" not in json.dumps(emulator.state.requests())


def test_iam_password_auth_drives_client(emulator):
    iam = IamPasswordAuth(
        emulator.url, "demo", "demo-password", "demo-domain", "cn-north-4", UrllibTransport()
    )
    client = SwrClient(emulator.url, iam)
    emulator.state.add_namespace("ns1")
    assert [n.name for n in client.list_namespaces()] == ["ns1"]
    assert [n.name for n in client.list_namespaces()] == ["ns1"]
    assert iam.token_requests == 1


@pytest.mark.parametrize(
    ("headers", "detail"),
    [({}, "missing"), ({"X-Auth-Token": "forged"}, "invalid token")],
)
def test_missing_or_unknown_token_is_401_swr_shape(emulator, headers, detail):
    status, resp_headers, err = call(emulator.url, "GET", NS_PATH, token=None, headers=headers)
    assert status == 401 and err[0]["errorCode"] == "SVCSTG.SWR.4010000" and detail in err[0]["detail"]
    assert resp_headers["x-request-id"]
    assert "forged" not in json.dumps(err)


def test_expired_token_is_401_after_24h():
    with freeze_time("2026-03-01 00:00:00") as frozen, Emulator() as emu:
        token = emu.issue_token()
        assert call(emu.url, "GET", NS_PATH, token=token)[0] == 200
        frozen.tick(timedelta(hours=23, minutes=59))
        assert call(emu.url, "GET", NS_PATH, token=token)[0] == 200
        frozen.tick(timedelta(minutes=1))
        status, _, err = call(emu.url, "GET", NS_PATH, token=token)
        assert status == 401 and err[0]["detail"] == "The token must be updated"
        with pytest.raises(AuthError):
            SwrClient(emu.url, TokenAuth(token)).list_namespaces()


def test_static_token_never_expires():
    with freeze_time("2026-03-01") as frozen, Emulator(static_tokens=("forever",)) as emu:
        frozen.tick(timedelta(days=400))
        assert call(emu.url, "GET", NS_PATH, token="forever")[0] == 200


def test_aksk_client_is_accepted_on_root_and_region_prefix(emulator):
    emulator.state.add_image("ns1", "group/app", "v1", region="ap-southeast-1")
    emulator.state.add_image("ns1", "group/app", "v1")
    for base in (emulator.url, emulator.region_url("ap-southeast-1")):
        client = SwrClient(base, AkSkAuth(AK, SK, project_id="pid"))
        assert [t.tag for t in client.list_tags("ns1", "group/app")] == ["v1"]
        page = client.list_sync_jobs("ns1", "group/app", limit=5)
        assert page.items == []


def test_aksk_with_security_token_and_query(emulator):
    emulator.state.add_image("team", "app", "v1")
    client = SwrClient(emulator.url, AkSkAuth(AK, SK, security_token="sts-token-value"))
    assert [r.name for r in client.iter_repos("team")] == ["app"]


def _signed(
    base: str,
    method: str,
    path: str,
    query: dict | None = None,
    body: bytes = b"",
    sk: str = SK,
    ak: str = AK,
    now=None,
):
    headers = {"Host": urlsplit(base).netloc, "Content-Type": "application/json"}
    full = urlsplit(base).path + path
    signer.sign(ak, sk, method, full, query, headers, body, now=now)
    return headers


def test_bad_signature_is_401_apig_shape_without_secrets(emulator):
    headers = _signed(emulator.url, "GET", NS_PATH, sk="wrong-secret-key")
    status, resp_headers, err = call(emulator.url, "GET", NS_PATH, token=None, headers=headers)
    assert status == 401
    assert set(err) == {"error_code", "error_msg", "request_id"} and err["error_code"] == "APIG.0303"
    assert err["request_id"] == resp_headers["x-request-id"]
    assert SK not in json.dumps(err) and "wrong-secret-key" not in json.dumps(err)


def test_tampered_request_fails_signature(emulator):
    emulator.state.add_image("ns1", "app", "v1")
    headers = _signed(emulator.url, "GET", "/v2/manage/namespaces/ns1/repos/app/tags")
    status, _, err = call(
        emulator.url, "GET", "/v2/manage/namespaces/ns1/repos/other/tags", token=None, headers=headers
    )
    assert status == 401 and "mismatch" in err["error_msg"]


def test_unknown_access_key_is_401(emulator):
    headers = _signed(emulator.url, "GET", NS_PATH, ak="OTHERAK")
    status, _, err = call(emulator.url, "GET", NS_PATH, token=None, headers=headers)
    assert status == 401 and err["error_code"] == "APIG.0303"


@pytest.mark.parametrize(("minutes", "ok"), [(14, True), (-14, True), (16, False), (-16, False)])
def test_signature_clock_skew_limit_is_15_minutes(emulator, minutes, ok):
    when = datetime.now(timezone.utc) - timedelta(minutes=minutes)
    headers = _signed(emulator.url, "GET", NS_PATH, now=when)
    status, _, err = call(emulator.url, "GET", NS_PATH, token=None, headers=headers)
    assert (status == 200) is ok
    if not ok:
        assert status == 401 and "expired" in err["error_msg"]


def test_signature_over_body_and_prefix_path(emulator):
    emulator.state.add_image("ns1", "group/app", "v1", region="ap-southeast-3")
    emulator.state.add_namespace("ns2", "cn-north-4")
    base = emulator.region_url("ap-southeast-3")
    body = json.dumps({"imageTag": ["v1"], "remoteNamespace": "ns2", "remoteRegionId": "cn-north-4"}).encode()
    path = (
        "/v2/manage/namespaces/ns1/repos/group$app/sync_images"  # raw $ on the wire, %24 in the canonical URI
    )
    headers = _signed(base, "POST", path, body=body)
    assert call(base, "POST", path, raw=body, token=None, headers=headers)[:3:2] == (200, [])
    # a signature computed without the prefix does not verify: the prefix is part of the signed path
    headers = _signed(emulator.url, "POST", path, body=body)
    assert call(base, "POST", path, raw=body, token=None, headers=headers)[0] == 401
    # nor does one over a different body
    headers = _signed(base, "POST", path, body=body)
    assert call(base, "POST", path, raw=body + b" ", token=None, headers=headers)[0] == 401


def test_aksk_is_rejected_when_not_configured():
    with Emulator() as emu:
        headers = _signed(emu.url, "GET", NS_PATH)
        status, _, err = call(emu.url, "GET", NS_PATH, token=None, headers=headers)
        assert status == 401 and err["error_code"] == "APIG.0303"


# -- agreement with the official SDK's vectors (docs reference sdk-baseline.md) --------------------------------

VECTOR_HEADERS = {"Content-Type": "application/json", "X-Project-Id": "pid", "X-Sdk-Date": "20240101T000000Z"}
VECTORS = [
    (
        "POST",
        "/v2/manage/namespaces/ns1/repos/group%24app/sync_images",
        None,
        b'{"imageTag": ["v1"], "override": false, "remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}',
        "0df1f8b30d3690527c013e4cfd4901f09e6e177e3a484612106e295426d5c1a1",
    ),
    ("GET", "/v2/manage/namespaces/ns1/repos/app/sync_repo", None, b"",
     "3279cd0b382dca332c368d5f28b77aad381f3668b793f5a5658f3aca96ff2f8f"),
    ("GET", "/v2/manage/namespaces/ns1/repos/app/sync_job", {"filter": "limit::10|offset::0|order::desc"}, b"",
     "c8531996e3fdbd56e2ecc7a1d5396e59217383ccae79518192a8262e0b2a6ef0"),
    ("POST", "/v2/manage/namespaces/ns1/repos/group%2Fapp/sync_images", None, b'{"imageTag":["v1"]}',
     "7162aea7c121f9317cae2996eb86619cdec9cdc31cd88c0bc55d9e7c0953e922"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "query", "body", "expected"), VECTORS)
def test_emulator_verification_accepts_official_vectors(method, path, query, body, expected):
    """The emulator verifies with shared.swr.signer.verify: it must accept exactly the SDK's signatures."""
    from localdev.emulator.auth import authenticate
    from localdev.emulator.state import EmulatorState
    from localdev.emulator.wire import Problem, Request

    when = datetime(2024, 1, 1, 0, 5, tzinfo=timezone.utc)
    state = EmulatorState(aksk={"AKEXAMPLE": "SKEXAMPLE"}, clock=lambda: when)
    headers = {**VECTOR_HEADERS, "Host": "swr-api.cn-north-4.myhuaweicloud.com"}
    auth = f"SDK-HMAC-SHA256 Access=AKEXAMPLE, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature={expected}"
    from urllib.parse import urlencode

    raw_query = urlencode(query or {})
    req = Request(method, path, raw_query, {**headers, "Authorization": auth}, body)
    assert authenticate(state, req).name == "demo"
    signed = signer.sign("AKEXAMPLE", "SKEXAMPLE", method, path, query, dict(headers), body)
    assert signed["Authorization"].endswith(expected)
    bad = Request(
        method, path, raw_query, {**headers, "Authorization": auth.replace(expected[:8], "00000000")}, body
    )
    with pytest.raises(Problem) as info:
        authenticate(state, bad)
    assert info.value.status == 401
