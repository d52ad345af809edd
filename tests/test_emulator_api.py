"""SWR API emulation: documented shapes, validation, paging, regions, driven by raw urllib and SwrClient."""

from __future__ import annotations

import pytest

from shared.swr.auth import TokenAuth
from shared.swr.catalog import SyncRepo, SyncRepoRequest
from shared.swr.client import SwrClient
from shared.swr.errors import ApiError, NotFound
from shared.swr.models import SyncImagesRequest, SyncJob
from tests.test_emulator_support import TOKEN, call

SEED_SYNC_IMAGES_BODY = {
    "imageTag": ["V1"],
    "override": True,
    "remoteNamespace": "sdsad",
    "remoteRegionId": "region1",
}
SYNC_JOB_FIELDS = {
    "createdAt", "domainID", "domainName", "id", "namespace", "override", "remoteNamespace",
    "remoteRegionId", "repoName", "status", "syncOperatorId", "syncOperatorName", "tag", "updatedAt",
}  # fmt: skip
SYNC_REPO_FIELDS = {
    "createdAt", "domainID", "domainName", "id", "namespace", "override", "remoteNamespace",
    "remoteRegionId", "repoName", "syncAuto", "updatedAt",
}  # fmt: skip
JOBS = "/v2/manage/namespaces/test/repos/testrepo/sync_job"


@pytest.fixture
def client(emulator):
    return SwrClient(emulator.url, TokenAuth(TOKEN))


def test_seed_sync_images_example_round_trips(emulator):
    # The seed example targets "region1"; serve a region of that name so the example is accepted verbatim.
    from localdev.emulator import Emulator

    with Emulator(regions=("cn-north-4", "region1"), static_tokens=(TOKEN,)) as emu:
        emu.state.add_image("test", "testrepo", "V1")
        status, headers, body = call(
            emu.url, "POST", "/v2/manage/namespaces/test/repos/testrepo/sync_images", SEED_SYNC_IMAGES_BODY
        )
        assert (status, body) == (200, [])
        assert headers["x-request-id"]
        job = emu.state.jobs()[0]
        assert (job["tag"], job["remoteRegionId"], job["override"], job["status"]) == (
            "V1",
            "region1",
            True,
            "waiting",
        )


def test_sync_job_list_has_exactly_the_documented_fields(emulator):
    emulator.state.add_image("test", "testrepo", "8")
    emulator.state.add_namespace("remtens", "ap-southeast-1")
    body = {"imageTag": ["8"], "remoteNamespace": "remtens", "remoteRegionId": "ap-southeast-1"}
    assert call(emulator.url, "POST", "/v2/manage/namespaces/test/repos/testrepo/sync_images", body)[0] == 200
    status, headers, jobs = call(emulator.url, "GET", JOBS + "?filter=limit::10|offset::0|order::desc")
    assert status == 200
    assert headers["content-range"] == "0-1/1"
    assert set(jobs[0]) == SYNC_JOB_FIELDS
    job = jobs[0]
    assert job["namespace"] == "test" and job["repoName"] == "testrepo" and job["tag"] == "8"
    assert job["override"] is False and job["remoteNamespace"] == "remtens"
    assert job["createdAt"].endswith("Z") and len(job["createdAt"]) == len("2020-03-12T08:11:36.518144Z")
    SyncJob.model_validate(job)


def test_sync_repo_round_trip_with_documented_fields(emulator, client):
    emulator.state.add_image("test", "grpc-helloworld", "v1")
    client.create_sync_repo(
        "test",
        "grpc-helloworld",
        SyncRepoRequest(
            remoteRegionId="ap-southeast-1", remoteNamespace="sdsad", syncAuto=True, override=True
        ),
    )
    status, _, items = call(emulator.url, "GET", "/v2/manage/namespaces/test/repos/grpc-helloworld/sync_repo")
    assert status == 200 and set(items[0]) == SYNC_REPO_FIELDS
    assert (
        items[0]["syncAuto"] is True
        and items[0]["override"] is True
        and items[0]["repoName"] == "grpc-helloworld"
    )
    policies = client.list_sync_repos("test", "grpc-helloworld")
    assert [type(p) for p in policies] == [SyncRepo]
    # duplicate → 409
    dup = {"remoteRegionId": "ap-southeast-1", "remoteNamespace": "sdsad", "syncAuto": True}
    status, _, err = call(
        emulator.url, "POST", "/v2/manage/namespaces/test/repos/grpc-helloworld/sync_repo", dup
    )
    assert status == 409 and err[0]["errorCode"] == "SVCSTG.SWR.4090006"
    client.delete_sync_repo("test", "grpc-helloworld", "ap-southeast-1", "sdsad")
    assert client.list_sync_repos("test", "grpc-helloworld") == []
    with pytest.raises(NotFound):
        client.delete_sync_repo("test", "grpc-helloworld", "ap-southeast-1", "sdsad")


def test_sync_images_through_client_with_dollar_repository(emulator, client):
    emulator.state.add_image("ns1", "group/app", "v1")
    failed = client.sync_images(
        "ns1",
        "group/app",
        SyncImagesRequest(imageTag=["v1", "nope"], remoteNamespace="ns2", remoteRegionId="ap-southeast-1"),
    )
    assert failed == ["nope"]
    assert [j["tag"] for j in emulator.state.jobs()] == ["v1"]
    assert emulator.state.requests()[-1]["path"] == "/v2/manage/namespaces/ns1/repos/group%24app/sync_images"


@pytest.mark.parametrize("segment", ["group$app", "group%24app"])
def test_repository_segment_accepts_raw_and_encoded_dollar(emulator, segment):
    emulator.state.add_image("ns1", "group/app", "v1")
    status, _, body = call(emulator.url, "GET", f"/v2/manage/namespaces/ns1/repos/{segment}/tags")
    assert status == 200 and body[0]["Tag"] == "v1"


@pytest.mark.parametrize("segment", ["group%2Fapp", "group%2fapp", "group/app"])
def test_slash_inside_repository_segment_is_not_a_repository(emulator, segment):
    emulator.state.add_image("ns1", "group/app", "v1")
    status, headers, _body = call(emulator.url, "GET", f"/v2/manage/namespaces/ns1/repos/{segment}/tags")
    assert status == 404 and headers["x-request-id"]


@pytest.mark.parametrize(
    ("namespace", "repository", "rule"),
    [
        ("Upper", "app", "characters"),
        ("1abc", "app", "start"),
        ("ns-", "app", "end"),
        ("a" * 65, "app", "length"),
        ("a___b", "app", "underscores"),
        ("a._b", "app", "adjacent-separators"),
        ("ns1", "-app", "start"),
        ("ns1", "app.", "end"),
        ("ns1", "a$$b", "adjacent-separators"),  # a//b
        ("ns1", "a" * 129, "length"),
        ("ns1", "a%20b", "characters"),
    ],
)
def test_invalid_names_answer_400_naming_the_rule(emulator, namespace, repository, rule):
    body = {"imageTag": ["v1"], "remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}
    status, _headers, err = call(
        emulator.url, "POST", f"/v2/manage/namespaces/{namespace}/repos/{repository}/sync_images", body
    )
    assert status == 400
    assert err[0]["errorCode"] == "SVCSTG.SWR.4000014"
    assert f"rule: {rule}" in err[0]["errorMessage"]
    assert set(err[0]) == {"errorCode", "errorMessage", "detail"}


def test_double_underscore_is_a_valid_name(emulator):
    emulator.state.add_image("a__b", "x__y", "v1")
    assert call(emulator.url, "GET", "/v2/manage/namespaces/a__b/repos/x__y/tags")[0] == 200


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}, "imageTag"),
        ({"imageTag": [], "remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}, "imageTag"),
        ({"imageTag": "v1", "remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}, "imageTag"),
        ({"imageTag": [1], "remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}, "imageTag"),
        ({"imageTag": ["v1"], "remoteRegionId": "ap-southeast-1"}, "remoteNamespace"),
        ({"imageTag": ["v1"], "remoteNamespace": 5, "remoteRegionId": "ap-southeast-1"}, "remoteNamespace"),
        (
            {"imageTag": ["v1"], "remoteNamespace": "Bad", "remoteRegionId": "ap-southeast-1"},
            "remoteNamespace",
        ),
        ({"imageTag": ["v1"], "remoteNamespace": "ns2"}, "remoteRegionId"),
        ({"imageTag": ["v1"], "remoteNamespace": "ns2", "remoteRegionId": "mars-1"}, "remoteRegionId"),
        (
            {
                "imageTag": ["v1"],
                "remoteNamespace": "ns2",
                "remoteRegionId": "ap-southeast-1",
                "override": "yes",
            },
            "override",
        ),
        ([1, 2], "object"),
    ],
)
def test_sync_images_body_validation(emulator, body, fragment):
    emulator.state.add_image("ns1", "app", "v1")
    status, _, err = call(emulator.url, "POST", "/v2/manage/namespaces/ns1/repos/app/sync_images", body)
    assert status == 400 and fragment in err[0]["errorMessage"]
    assert emulator.state.jobs() == []


def test_sync_images_requires_json_content_type_and_json_body(emulator):
    emulator.state.add_image("ns1", "app", "v1")
    good = {"imageTag": ["v1"], "remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}
    path = "/v2/manage/namespaces/ns1/repos/app/sync_images"
    assert call(emulator.url, "POST", path, good, content_type="text/plain")[0] == 400
    assert call(emulator.url, "POST", path, good, content_type=None)[0] == 400
    assert call(emulator.url, "POST", path, raw=b"{not json")[0] == 400
    status, _, body = call(emulator.url, "POST", path, good, content_type="application/json;charset=utf-8")
    assert (status, body) == (200, [])


def test_unknown_namespace_or_repository_is_404(emulator):
    emulator.state.add_namespace("ns1")
    body = {"imageTag": ["v1"], "remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}
    status, _, err = call(emulator.url, "POST", "/v2/manage/namespaces/nope/repos/app/sync_images", body)
    assert status == 404 and err[0]["errorCode"].startswith("SVCSTG.SWR.404")
    status, _, err = call(emulator.url, "POST", "/v2/manage/namespaces/ns1/repos/app/sync_images", body)
    assert status == 404 and err[0]["errorCode"].startswith("SVCSTG.SWR.404")


def test_duplicate_tags_create_one_job(emulator):
    emulator.state.add_image("ns1", "app", "v1")
    body = {"imageTag": ["v1", "v1"], "remoteNamespace": "ns2", "remoteRegionId": "ap-southeast-1"}
    assert call(emulator.url, "POST", "/v2/manage/namespaces/ns1/repos/app/sync_images", body)[2] == []
    assert len(emulator.state.jobs()) == 1


@pytest.mark.parametrize(
    ("offset", "expected_range", "expected_ids"),
    [
        (0, "0-10/25", list(range(25, 15, -1))),
        (10, "10-10/25", list(range(15, 5, -1))),
        (20, "20-5/25", [5, 4, 3, 2, 1]),
    ],
)
def test_sync_job_content_range_at_page_boundaries(emulator, offset, expected_range, expected_ids):
    for i in range(25):
        emulator.state.add_job("test", "testrepo", f"t{i}", status="success")
    status, headers, jobs = call(
        emulator.url, "GET", JOBS + f"?filter=limit::10|offset::{offset}|order::desc"
    )
    assert status == 200 and headers["content-range"] == expected_range
    assert [j["id"] for j in jobs] == expected_ids


def test_sync_job_paging_ascending_and_past_the_end(emulator):
    for i in range(3):
        emulator.state.add_job("test", "testrepo", f"t{i}", status="success")
    _, headers, jobs = call(emulator.url, "GET", JOBS + "?filter=limit::2|offset::0|order::asc")
    assert [j["id"] for j in jobs] == [1, 2] and headers["content-range"] == "0-2/3"
    _, headers, jobs = call(emulator.url, "GET", JOBS + "?filter=limit::2|offset::4")
    assert jobs == [] and headers["content-range"] == "4-0/3"
    _, headers, jobs = call(emulator.url, "GET", JOBS + "?filter=limit::10|offset::0")
    assert [j["id"] for j in jobs] == [3, 2, 1]  # default order: desc


def test_sync_job_iterates_with_client(emulator, client):
    for i in range(25):
        emulator.state.add_job("test", "testrepo", f"t{i}", status="success")
    page = client.list_sync_jobs("test", "testrepo", limit=10, offset=20)
    assert page.content_range is not None and page.content_range.header() == "20-5/25"
    assert not page.has_more
    assert [j.id for j in client.iter_sync_jobs("test", "testrepo", page_size=10)] == list(range(25, 0, -1))


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?filter=",
        "?filter=limit::10",
        "?filter=offset::0",
        "?filter=limit::0|offset::0",
        "?filter=limit::1001|offset::0",
        "?filter=limit::-1|offset::0",
        "?filter=limit::x|offset::0",
        "?filter=limit::10|offset::0|order::up",
        "?filter=limit::10|offset::0|colour::red",
        "?filter=limit::10|limit::5|offset::0",
        "?filter=limit:10|offset:0",
    ],
)
def test_sync_job_filter_validation(emulator, query):
    emulator.state.add_image("test", "testrepo", "v1")
    status, _, err = call(emulator.url, "GET", JOBS + query)
    assert status == 400 and err[0]["errorCode"] == "SVCSTG.SWR.4000014"


def test_sync_job_unknown_repository_is_404(emulator):
    assert call(emulator.url, "GET", JOBS + "?filter=limit::10|offset::0")[0] == 404


def test_list_repos_paging_filter_and_legacy_form(emulator, client):
    for i in range(5):
        emulator.state.add_image("team", f"app{i}", "v1")
    emulator.state.add_image("team-b", "other", "v1")
    emulator.state.add_image("zzz", "x", "v1")
    status, headers, repos = call(emulator.url, "GET", "/v2/manage/repos?namespace=team&limit=2&offset=2")
    assert status == 200 and headers["content-range"] == "2-2/6"  # fuzzy: team-b matches too
    assert [r["name"] for r in repos] == ["app2", "app3"]
    expected = {
        "name", "namespace", "category", "description", "size", "is_public", "num_images", "num_download",
        "created_at", "updated_at", "url", "path", "internal_path", "domain_name", "tags", "status", "total_range",
    }  # fmt: skip
    assert expected <= set(repos[0]) and repos[0]["total_range"] == 6 and repos[0]["tags"] == ["v1"]
    _, headers, repos = call(
        emulator.url, "GET", "/v2/manage/repos?filter=namespace::team|limit::4|offset::4"
    )
    assert headers["content-range"] == "4-2/6" and [r["name"] for r in repos] == ["app4", "other"]
    assert (
        call(emulator.url, "GET", "/v2/manage/repos?namespace=team&limit=4&offset=2")[0] == 400
    )  # not a multiple
    assert call(emulator.url, "GET", "/v2/manage/repos?namespace=team&limit=4")[0] == 400  # not together
    # the client keeps exact matches only
    assert sorted(r.name for r in client.iter_repos("team", page_size=2)) == [f"app{i}" for i in range(5)]


def test_list_namespaces_tags_regions(emulator, client):
    emulator.state.add_image("alpha", "app", "v1", digest="sha256:" + "a" * 64)
    emulator.state.add_image("alpha", "app", "v2")
    emulator.state.add_namespace("beta")
    status, _, body = call(emulator.url, "GET", "/v2/manage/namespaces")
    assert status == 200 and [n["name"] for n in body["namespaces"]] == ["alpha", "beta"]
    assert (
        set(body["namespaces"][0]) == {"id", "name", "creator_name", "auth"}
        and body["namespaces"][0]["auth"] == 7
    )
    _, _, body = call(emulator.url, "GET", "/v2/manage/namespaces?filter=namespace::alp")
    assert [n["name"] for n in body["namespaces"]] == ["alpha"]
    tags = {t.tag: t for t in client.list_tags("alpha", "app")}
    assert tags["v1"].digest == "sha256:" + "a" * 64 and tags["v1"].size > 0
    _, _, raw_tags = call(emulator.url, "GET", "/v2/manage/namespaces/alpha/repos/app/tags")
    assert set(raw_tags[0]) == {"Tag", "digest", "size", "created", "updated"}
    assert [r.region_id for r in client.list_regions()] == ["cn-north-4", "ap-southeast-1", "ap-southeast-3"]
    assert [n.name for n in client.list_namespaces()] == ["alpha", "beta"]


def test_regions_are_isolated_and_addressed_by_prefix(emulator):
    emulator.state.add_image("ns1", "app", "v1", region="ap-southeast-1")
    status, _, body = call(
        emulator.region_url("ap-southeast-1"), "GET", "/v2/manage/namespaces/ns1/repos/app/tags"
    )
    assert status == 200 and body[0]["Tag"] == "v1"
    assert call(emulator.url, "GET", "/v2/manage/namespaces/ns1/repos/app/tags")[0] == 404
    assert call(emulator.region_url("cn-north-4"), "GET", "/v2/manage/namespaces")[2] == {"namespaces": []}
    status, headers, body = call(emulator.url, "GET", "/regions/mars-1/v2/manage/namespaces")
    assert status == 404 and headers["x-request-id"]
    assert emulator.region_url("ap-southeast-1") == emulator.url + "/regions/ap-southeast-1"


def test_client_with_region_prefix_endpoint(emulator):
    emulator.state.add_image("ns1", "group/app", "v1", region="ap-southeast-3")
    client = SwrClient(emulator.region_url("ap-southeast-3"), TokenAuth(TOKEN))
    assert [t.tag for t in client.list_tags("ns1", "group/app")] == ["v1"]


def test_every_response_has_a_request_id_and_unknown_routes_are_404(emulator):
    for method, path in [
        ("GET", "/nope"),
        ("GET", "/v2/manage/nothing"),
        ("PUT", "/v2/manage/repos"),
        ("GET", "/v2/manage/regions"),
    ]:
        status, headers, _ = call(emulator.url, method, path, body={} if method == "PUT" else None)
        assert headers.get("x-request-id")
        assert status in (404, 200)


def test_client_raises_typed_errors(emulator, client):
    with pytest.raises(NotFound) as info:
        client.list_tags("ns1", "missing")
    assert info.value.code.startswith("SVCSTG.SWR.404") and info.value.request_id
    emulator.state.add_image("ns1", "app", "v1")
    with pytest.raises(ApiError) as bad:
        client.sync_images(
            "ns1", "app", SyncImagesRequest(imageTag=["v1"], remoteNamespace="ns2", remoteRegionId="xx-yy-9")
        )
    assert bad.value.status == 400


def test_request_log_masks_secrets_and_keeps_raw_path(emulator):
    call(emulator.url, "GET", "/v2/manage/repos?filter=namespace::a|limit::10|offset::0")
    entry = emulator.state.requests()[-1]
    assert entry["path"] == "/v2/manage/repos?filter=namespace::a|limit::10|offset::0"
    assert entry["headers"]["X-Auth-Token"] == "***" and TOKEN not in repr(entry)
    assert entry["status"] == 200 and entry["request_id"]
