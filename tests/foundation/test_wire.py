"""Exact wire requests of SwrClient, pinned on a real loopback server (raw request target, body bytes, headers)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from shared.swr.catalog import SyncRepoRequest
from shared.swr.client import USER_AGENT, SwrClient
from shared.swr.errors import TransportError
from shared.swr.models import ContentRange, SyncImagesRequest, SyncStatus

from .conftest import TOKEN, raw_uris

REPO = "/v2/manage/namespaces/ns1/repos/group$app"  # pytest-httpserver matches the decoded path
RAW_REPO = "/v2/manage/namespaces/ns1/repos/group%24app"


def _job(i: int, status: str = "success") -> dict[str, object]:
    return {
        "id": i,
        "namespace": "ns1",
        "repoName": "group/app",
        "tag": f"v{i}",
        "remoteNamespace": "ns2",
        "remoteRegionId": "ap-southeast-1",
        "override": False,
        "status": status,
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": "2024-01-01T00:01:00Z",
        "domainID": "d1",
        "domainName": "dom",
        "syncOperatorId": "u1",
        "syncOperatorName": "user",
    }


def _assert_common_headers(req: Request, has_body: bool) -> None:
    assert req.headers["Content-Type"] == "application/json"  # on GET too: SWR requires it
    assert req.headers["User-Agent"] == USER_AGENT
    assert req.headers["X-Auth-Token"] == TOKEN
    assert req.headers["Host"] == req.environ["HTTP_HOST"]
    assert len(req.headers.getlist("Content-Type")) == 1
    if not has_body:
        assert req.get_data() == b""
        assert req.headers.get("Content-Length") in (None, "0")


def test_sync_images_wire(httpserver: HTTPServer, make_client: Callable[..., SwrClient]) -> None:
    httpserver.expect_request(f"{REPO}/sync_images", method="POST").respond_with_json([])
    client = make_client()
    body = SyncImagesRequest(imageTag=["v1", "v2"], remoteNamespace="ns2", remoteRegionId="ap-southeast-1")

    assert client.sync_images("ns1", "group/app", body) == []

    ((req, _),) = httpserver.log
    assert req.environ["REQUEST_URI"] == f"{RAW_REPO}/sync_images"
    assert req.method == "POST"
    assert req.get_data() == (
        b'{"imageTag":["v1","v2"],"override":false,"remoteNamespace":"ns2","remoteRegionId":"ap-southeast-1"}'
    )
    assert req.headers["Content-Length"] == str(len(req.get_data()))
    _assert_common_headers(req, has_body=True)


def test_sync_images_returns_the_failed_tags(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    httpserver.expect_request(f"{REPO}/sync_images", method="POST").respond_with_json(["v2"])
    body = SyncImagesRequest(imageTag=["v1", "v2"], override=True, remoteNamespace="ns2", remoteRegionId="r1")
    assert make_client().sync_images("ns1", "group/app", body) == ["v2"]
    assert json.loads(httpserver.log[0][0].get_data())["override"] is True


def test_sync_job_filter_is_encoded_exactly(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    httpserver.expect_request(f"{REPO}/sync_job", method="GET").respond_with_json(
        [_job(1), _job(2, "running")], headers={"Content-Range": "0-2/2"}
    )
    page = make_client().list_sync_jobs("ns1", "group/app", limit=10, offset=0)

    ((req, _),) = httpserver.log
    assert req.environ["REQUEST_URI"] == (
        f"{RAW_REPO}/sync_job?filter=limit%3A%3A10%7Coffset%3A%3A0%7Corder%3A%3Adesc"
    )
    assert req.args["filter"] == "limit::10|offset::0|order::desc"
    _assert_common_headers(req, has_body=False)
    assert [j.id for j in page.items] == [1, 2]
    assert page.items[1].status is SyncStatus.RUNNING
    assert page.items[0].repo_name == "group/app"
    assert page.content_range == ContentRange(0, 2, 2)
    assert not page.has_more


def test_sync_job_ascending(httpserver: HTTPServer, make_client: Callable[..., SwrClient]) -> None:
    httpserver.expect_request(f"{REPO}/sync_job").respond_with_json([])
    client = make_client()
    client.list_sync_jobs("ns1", "group/app", limit=5, offset=15, order="asc")
    assert raw_uris(httpserver) == [
        f"{RAW_REPO}/sync_job?filter=limit%3A%3A5%7Coffset%3A%3A15%7Corder%3A%3Aasc"
    ]
    with pytest.raises(ValueError):
        client.list_sync_jobs("ns1", "group/app", order="random")
    assert len(httpserver.log) == 1


def test_iter_sync_jobs_follows_content_range(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    pages = {0: ([_job(1), _job(2)], "0-2/5"), 2: ([_job(3), _job(4)], "2-2/5"), 4: ([_job(5)], "4-1/5")}

    def handler(req: Request) -> Response:
        offset = int(req.args["filter"].split("|")[1].split("::")[1])
        items, rng = pages[offset]
        return Response(json.dumps(items), headers={"Content-Range": rng}, content_type="application/json")

    httpserver.expect_request(f"{REPO}/sync_job").respond_with_handler(handler)
    jobs = list(make_client().iter_sync_jobs("ns1", "group/app", page_size=2))
    assert [j.id for j in jobs] == [1, 2, 3, 4, 5]
    assert raw_uris(httpserver) == [
        f"{RAW_REPO}/sync_job?filter=limit%3A%3A2%7Coffset%3A%3A{o}%7Corder%3A%3Adesc" for o in (0, 2, 4)
    ]


def test_sync_repo_list_create_delete(httpserver: HTTPServer, make_client: Callable[..., SwrClient]) -> None:
    policy = {
        "id": 7,
        "namespace": "ns1",
        "repoName": "group/app",
        "remoteNamespace": "ns2",
        "remoteRegionId": "ap-southeast-1",
        "syncAuto": True,
        "override": False,
        "createdAt": "2024-01-01T00:00:00Z",
        "updatedAt": "2024-01-01T00:00:00Z",
        "domainID": "d1",
        "domainName": "dom",
        "unknownFutureField": 1,
    }
    httpserver.expect_request(f"{REPO}/sync_repo", method="GET").respond_with_json([policy])
    httpserver.expect_request(f"{REPO}/sync_repo", method="POST").respond_with_data("", status=201)
    httpserver.expect_request(f"{REPO}/sync_repo", method="DELETE").respond_with_data("", status=204)
    client = make_client()

    repos = client.list_sync_repos("ns1", "group/app")
    client.create_sync_repo(
        "ns1",
        "group/app",
        SyncRepoRequest(remoteRegionId="ap-southeast-1", remoteNamespace="ns2", syncAuto=True),
    )
    client.delete_sync_repo("ns1", "group/app", "ap-southeast-1", "ns2")

    assert [(r.id, r.remote_namespace, r.sync_auto) for r in repos] == [(7, "ns2", True)]
    (get, _), (post, _), (delete, _) = httpserver.log
    assert [r.environ["REQUEST_URI"] for r in (get, post, delete)] == [f"{RAW_REPO}/sync_repo"] * 3
    assert [r.method for r in (get, post, delete)] == ["GET", "POST", "DELETE"]
    _assert_common_headers(get, has_body=False)
    _assert_common_headers(post, has_body=True)
    _assert_common_headers(delete, has_body=True)
    assert post.get_data() == (
        b'{"remoteRegionId":"ap-southeast-1","remoteNamespace":"ns2","syncAuto":true,"override":false}'
    )
    assert delete.get_data() == b'{"remoteRegionId":"ap-southeast-1","remoteNamespace":"ns2"}'


def _repo(name: str, ns: str = "ns1") -> dict[str, object]:
    return {"name": name, "namespace": ns, "category": "other", "size": 1, "is_public": False, "tags": ["v1"]}


def test_list_repos_paginates_with_content_range(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    pages = {
        "0": ([_repo("a"), _repo("b")], "0-2/5"),
        "2": ([_repo("c"), _repo("d")], "2-2/5"),
        "4": ([_repo("e")], "4-1/5"),
    }

    def handler(req: Request) -> Response:
        items, rng = pages[req.args["offset"]]
        return Response(json.dumps(items), headers={"Content-Range": rng}, content_type="application/json")

    httpserver.expect_request("/v2/manage/repos", method="GET").respond_with_handler(handler)
    repos = list(make_client().iter_repos("ns1", page_size=2))
    assert [r.name for r in repos] == ["a", "b", "c", "d", "e"]
    assert raw_uris(httpserver) == [f"/v2/manage/repos?limit=2&namespace=ns1&offset={o}" for o in (0, 2, 4)]
    for req, _ in httpserver.log:
        _assert_common_headers(req, has_body=False)


def test_list_repos_keeps_exact_namespace_and_pages_on_without_content_range(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    # The namespace filter is fuzzy on SWR: "ns1" also returns "ns10". Without Content-Range, paging must go
    # on while the server sends full pages, even when filtering made the kept page shorter.
    pages = {"0": [_repo("a"), _repo("x", "ns10")], "2": [_repo("b"), _repo("c")], "4": [_repo("y", "ns11")]}
    httpserver.expect_request("/v2/manage/repos").respond_with_handler(
        lambda req: Response(json.dumps(pages[req.args["offset"]]), content_type="application/json")
    )
    repos = list(make_client().iter_repos("ns1", page_size=2))
    assert [r.name for r in repos] == ["a", "b", "c"]
    assert len(httpserver.log) == 3


def test_list_namespaces(httpserver: HTTPServer, make_client: Callable[..., SwrClient]) -> None:
    httpserver.expect_request("/v2/manage/namespaces", method="GET").respond_with_json(
        {"namespaces": [{"id": 1422, "name": "huawei", "creator_name": "username", "auth": 7}]}
    )
    (ns,) = make_client().list_namespaces()
    assert (ns.id, ns.name, ns.auth) == (1422, "huawei", 7)
    ((req, _),) = httpserver.log
    assert req.environ["REQUEST_URI"] == "/v2/manage/namespaces"
    _assert_common_headers(req, has_body=False)


def test_list_tags_and_regions(httpserver: HTTPServer, make_client: Callable[..., SwrClient]) -> None:
    httpserver.expect_request(f"{REPO}/tags").respond_with_json(
        [{"Tag": "v1", "digest": "sha256:00", "size": 3}]
    )
    httpserver.expect_request("/v2/manage/regions").respond_with_json(
        [{"regionID": "ap-southeast-1", "name": "HK"}]
    )
    client = make_client()
    assert [t.tag for t in client.list_tags("ns1", "group/app")] == ["v1"]
    assert [r.region_id for r in client.list_regions()] == ["ap-southeast-1"]
    assert raw_uris(httpserver) == [f"{RAW_REPO}/tags", "/v2/manage/regions"]


def test_endpoint_path_prefix_is_kept(httpserver: HTTPServer) -> None:
    from shared.swr.auth import TokenAuth

    httpserver.expect_request("/prefix/v2/manage/regions").respond_with_json([])
    client = SwrClient(httpserver.url_for("/prefix/"), TokenAuth(TOKEN))
    assert client.list_regions() == []
    assert raw_uris(httpserver) == ["/prefix/v2/manage/regions"]


def test_unexpected_shapes_are_transport_errors(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    httpserver.expect_request(f"{REPO}/sync_job").respond_with_data("<html>not json</html>")
    httpserver.expect_request(f"{REPO}/sync_repo").respond_with_json([{"id": "not-an-int"}])
    client = make_client()
    with pytest.raises(TransportError, match="not JSON"):
        client.list_sync_jobs("ns1", "group/app")
    with pytest.raises(TransportError, match="unexpected response shape"):
        client.list_sync_repos("ns1", "group/app")
    assert len(httpserver.log) == 2  # a malformed 200 is not retried


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0-10/25", ContentRange(0, 10, 25)),
        ("items 20-5/25", ContentRange(20, 5, 25)),
        ("0-0/0", ContentRange(0, 0, 0)),
        (None, None),
        ("", None),
        ("garbage", None),
        ("5-30/25", None),
        ("30-0/25", None),
        ("-1-5/25", None),
        ("1-2/3/4", None),
    ],
)
def test_content_range_parse(header: str | None, expected: ContentRange | None) -> None:
    assert ContentRange.parse(header) == expected


def test_content_range_has_more() -> None:
    assert ContentRange(0, 10, 25).has_more and ContentRange(0, 10, 25).next_offset == 10
    assert not ContentRange(20, 5, 25).has_more
    assert not ContentRange(0, 0, 25).has_more  # an empty page never loops
    assert ContentRange(0, 10, 25).header() == "0-10/25"
