"""shared/swr/signer.py against the official SDK's signer (huaweicloudsdkcore, a test-only dependency pinned in the
dev extras): thousands of generated requests signed by both, with identical canonical requests, SignedHeaders,
signatures and headers as sent. The generator covers what a request could hold, not only what is sent today:
header names with ``_``, names equal but for case, non-JSON Content-Types (the ``UNSIGNED-PAYLOAD`` rule),
non-ASCII and padded header values, empty and repeated query keys and values, odd paths, empty bodies."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from huaweicloudsdkcore.sdk_request import (
    SdkRequest,  # never skipped: the cross-check must run in `make test`
)
from huaweicloudsdkcore.signer import signer as sdk_signer
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.swr import signer

AK, SK = "AKEXAMPLE", "SKEXAMPLE"
HOST = "swr-api.cn-north-4.myhuaweicloud.com"
DATE = "20240101T000000Z"


class _Creds:
    ak, sk = AK, SK


class RecordingSigner(sdk_signer.Signer):  # type: ignore[misc]
    """The SDK's signer, keeping the canonical request it built."""

    canonical = ""

    def _process_canonical_request(self, request: Any, signed_headers: list[str]) -> str:
        text: str = super()._process_canonical_request(request, signed_headers)
        self.canonical = text
        return text


def sdk_sign(
    method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
) -> tuple[str, dict[str, str]]:
    request = SdkRequest(
        method=method,
        schema="https",
        host=HOST,
        resource_path=path,
        query_params=list(query),
        header_params=dict(headers),
        body=body,
    )
    recording = RecordingSigner(_Creds())
    recording.sign(request)
    return recording.canonical, dict(request.header_params)


def ours(
    method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes
) -> tuple[str, dict[str, str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in query:
        grouped.setdefault(key, []).append(value)
    signed = signer.sign(AK, SK, method, path, grouped, dict(headers), body)
    unsigned = {k: v for k, v in signed.items() if k != "Authorization"}
    canonical, _ = signer.canonical_request(method, path, grouped, _texts(unsigned), body)
    return canonical, signed


def _texts(headers: dict[str, str]) -> dict[str, str]:
    """Sent header values back to the text that was signed (what a server does)."""
    return {k: v.encode("latin-1").decode("utf-8") for k, v in headers.items()}


text_chars = st.characters(blacklist_categories=("Cs",))  # a lone surrogate cannot be sent at all
segment = st.lists(
    st.sampled_from([*"abcAZ09-_.~$%2Fé /+:@!*'(),;=日", "%24", "%2F", "%zz", "%C3%A9"]), max_size=6
).map("".join)
paths = st.lists(segment, min_size=1, max_size=5).map(lambda parts: "/" + "/".join(parts)) | st.sampled_from(
    ["/", "//", "/v2/manage/namespaces/ns1/repos/group%24app/sync_images", "/a/", "/a//b", "/%", "/a%2Fb"]
)
query_text = st.text(alphabet=text_chars, max_size=6) | st.sampled_from(
    ["", "limit::10|offset::0", "a b", "~"]
)
queries = st.lists(st.tuples(query_text, query_text), max_size=5) | st.sampled_from(
    [
        [("k", "b"), ("k", "a")],
        [("", "")],
        [("k", ""), ("k", "")],
        [("filter", "limit::10|offset::0|order::desc")],
    ]
)
header_names = st.sampled_from(
    [
        "X-Project-Id",
        "x-project-id",
        "X_Custom",
        "x_under_score",
        "User-Agent",
        "X-Security-Token",
        "Accept",
        "X-Sdk-Content-Sha256",
        "x-sdk-content-sha256",
        "X-Request-Id",
    ]
)
header_values = st.text(alphabet=text_chars, max_size=12) | st.sampled_from(
    ["", "  padded  ", "é", "日本語", "a\tb", "UNSIGNED-PAYLOAD", "huaweicloud-usdk-python/3.0"]
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json;charset=utf-8",
        "application/bson",
        "application/octet-stream",
        "text/plain",
        "Application/JSON",
        "multipart/form-data; boundary=x",
        "",
    ]
)


@st.composite
def requests(draw: Any) -> tuple[str, str, list[tuple[str, str]], dict[str, str], bytes]:
    headers: dict[str, str] = {"Host": HOST, "X-Sdk-Date": DATE}
    content_type = draw(content_types)
    if content_type is not None:
        headers["Content-Type"] = content_type
    for name, value in draw(st.lists(st.tuples(header_names, header_values), max_size=5)):
        headers[name] = value
    method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "post"]))
    body = draw(
        st.sampled_from([b"", b'{"imageTag":["v1"]}', "é".encode(), b"\x00\xff"]) | st.binary(max_size=20)
    )
    return method, draw(paths), draw(queries), headers, body


@settings(max_examples=3000, deadline=None)
@given(request=requests())
def test_signer_equals_the_sdk(
    request: tuple[str, str, list[tuple[str, str]], dict[str, str], bytes],
) -> None:
    method, path, query, headers, body = request
    sdk_canonical, sdk_headers = sdk_sign(method, path, query, headers, body)
    our_canonical, our_headers = ours(method, path, query, headers, body)
    assert our_canonical == sdk_canonical
    assert our_headers == sdk_headers  # Authorization (SignedHeaders, signature), content rule, sent values


def test_the_rules_the_old_signer_missed() -> None:
    """The differences found by the cross-check, each pinned with the SDK's own answer."""
    cases = [
        ({"Host": HOST, "X-Sdk-Date": DATE, "X_Custom": "1"}, b"", "host;x-sdk-date"),
        ({"Host": HOST, "X-Sdk-Date": DATE, "Content-Type": "text/plain"}, b"x", None),
        ({"Host": HOST, "X-Sdk-Date": DATE, "X-Sdk-Content-Sha256": ""}, b"x", None),
        ({"Host": HOST, "X-Sdk-Date": DATE, "X-Name": "日本"}, b"", None),
    ]
    for headers, body, signed in cases:
        sdk_canonical, sdk_headers = sdk_sign("POST", "/a", [], headers, body)
        our_canonical, our_headers = ours("POST", "/a", [], headers, body)
        assert (our_canonical, our_headers) == (sdk_canonical, sdk_headers)
        if signed:
            assert f"SignedHeaders={signed}," in our_headers["Authorization"]
    _, text_plain = ours("POST", "/a", [], cases[1][0], b"x")
    assert text_plain["X-Sdk-Content-Sha256"] == "UNSIGNED-PAYLOAD"


def test_sdk_vectors_still_hold() -> None:
    """sdk-baseline.md's vectors, produced by the official signer."""
    headers = {"Content-Type": "application/json", "X-Project-Id": "pid", "X-Sdk-Date": DATE, "Host": HOST}
    path = "/v2/manage/namespaces/ns1/repos/app/sync_repo"
    out = signer.sign(AK, SK, "GET", path, None, dict(headers), b"")
    assert out["Authorization"].endswith(
        "Signature=3279cd0b382dca332c368d5f28b77aad381f3668b793f5a5658f3aca96ff2f8f"
    )
    verified = signer.verify({AK: SK}, "GET", path, None, out, b"", datetime(2024, 1, 1, tzinfo=timezone.utc))
    assert verified is None
