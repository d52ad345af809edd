"""Namespace / repository names: every documented rule, the `/`→`$`→`%24` encoding, and no invalid name on the wire.

Rules (sync_images / sync_job / sync_repo API pages): namespace 1-64 chars, starts with a lowercase letter, ends
with a letter or digit, only ``[a-z0-9._-]``; repository 1-128 chars, starts and ends with a letter or digit, only
``[a-z0-9./_-]``; separators never adjacent, except at most two consecutive underscores.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from shared.swr import signer
from shared.swr.catalog import SyncRepoRequest
from shared.swr.client import SwrClient
from shared.swr.models import SyncImagesRequest
from shared.swr.names import (
    NAMESPACE_MAX,
    REPOSITORY_MAX,
    InvalidName,
    decode_repository,
    encode_namespace,
    encode_repository,
    is_valid_namespace,
    is_valid_repository,
    repo_path,
    split_full_name,
    validate_namespace,
    validate_repository,
)

# -- examples, per rule ------------------------------------------------------------------------------------------

VALID_NAMESPACES = [
    "a",
    "ns1",
    "a1",
    "my-org",
    "my.org",
    "my_org",
    "my__org",  # two underscores: allowed
    "a-b.c_d",
    "a" * NAMESPACE_MAX,
    "z9",
    "a0-0",
]

INVALID_NAMESPACES = [
    # (value, rule)
    ("", "length"),
    ("a" * (NAMESPACE_MAX + 1), "length"),
    ("Ab", "characters"),
    ("aB", "characters"),
    ("a b", "characters"),
    ("a/b", "characters"),  # '/' only in repositories
    ("a$b", "characters"),
    ("a%2fb", "characters"),
    ("a?b", "characters"),
    ("a#b", "characters"),
    ("a\nb", "characters"),
    ("é", "characters"),
    ("\uff41", "characters"),  # fullwidth a
    ("1abc", "start"),  # namespace must start with a letter, not a digit
    ("0", "start"),
    ("-abc", "start"),
    (".abc", "start"),
    ("_abc", "start"),
    ("abc-", "end"),
    ("abc.", "end"),
    ("abc_", "end"),
    ("abc__", "end"),
    ("a___b", "underscores"),
    ("a____b", "underscores"),
    ("a._b", "adjacent-separators"),
    ("a_.b", "adjacent-separators"),
    ("a-_b", "adjacent-separators"),
    ("a_-b", "adjacent-separators"),
    ("a.-b", "adjacent-separators"),
    ("a-.b", "adjacent-separators"),
    ("a..b", "adjacent-separators"),
    ("a--b", "adjacent-separators"),
    ("a__.b", "adjacent-separators"),
    (None, "type"),
    (42, "type"),
    (b"abc", "type"),
]

VALID_REPOSITORIES = [
    "a",
    "1",
    "app",
    "1app",  # repositories may start with a digit
    "group/app",
    "a/b/c/d",
    "g1/sub-2/app.v3",
    "my__app",
    "a_b",
    "a.b-c_d/e",
    "a" * REPOSITORY_MAX,
    ("a/" * 64)[:-1] + "b",  # 128 chars, many segments
]

INVALID_REPOSITORIES = [
    ("", "length"),
    ("a" * (REPOSITORY_MAX + 1), "length"),
    ("App", "characters"),
    ("a b", "characters"),
    ("a$b", "characters"),  # '$' is the wire form of '/', never part of a name
    ("a%2Fb", "characters"),
    ("a?b", "characters"),
    ("a#b", "characters"),
    ("a\\b", "characters"),
    ("a:b", "characters"),
    ("a@sha256", "characters"),
    ("a\x00b", "characters"),
    ("/app", "start"),
    ("-app", "start"),
    (".app", "start"),
    ("_app", "start"),
    ("app/", "end"),
    ("app-", "end"),
    ("app.", "end"),
    ("app_", "end"),
    ("a___b", "underscores"),
    ("a//b", "adjacent-separators"),
    ("a/-b", "adjacent-separators"),
    ("a-/b", "adjacent-separators"),
    ("a/.b", "adjacent-separators"),
    ("a./b", "adjacent-separators"),
    ("a/_b", "adjacent-separators"),
    ("a_/b", "adjacent-separators"),
    ("a__/b", "adjacent-separators"),
    ("a._b", "adjacent-separators"),
    ("a..b", "adjacent-separators"),
    ("a--b", "adjacent-separators"),
    ([], "type"),
]


@pytest.mark.parametrize("name", VALID_NAMESPACES)
def test_valid_namespaces(name: str) -> None:
    assert validate_namespace(name) == name
    assert is_valid_namespace(name)


@pytest.mark.parametrize(("name", "rule"), INVALID_NAMESPACES)
def test_invalid_namespaces_name_the_rule(name: object, rule: str) -> None:
    with pytest.raises(InvalidName) as info:
        validate_namespace(name)
    assert info.value.rule == rule
    assert info.value.kind == "namespace"
    assert f"(rule: {rule})" in str(info.value)
    assert not is_valid_namespace(name)


@pytest.mark.parametrize("name", VALID_REPOSITORIES)
def test_valid_repositories(name: str) -> None:
    assert validate_repository(name) == name
    assert is_valid_repository(name)


@pytest.mark.parametrize(("name", "rule"), INVALID_REPOSITORIES)
def test_invalid_repositories_name_the_rule(name: object, rule: str) -> None:
    with pytest.raises(InvalidName) as info:
        validate_repository(name)
    assert info.value.rule == rule
    assert info.value.kind == "repository"
    assert not is_valid_repository(name)


def test_length_limits_are_inclusive() -> None:
    assert validate_namespace("a" * 64)
    assert validate_repository("a" * 128)
    assert not is_valid_namespace("a" * 65)
    assert not is_valid_repository("a" * 129)


def test_invalid_name_message_is_bounded_and_printable() -> None:
    with pytest.raises(InvalidName) as info:
        validate_repository("A" * 10_000 + "\r\n\x1b[31m")
    text = str(info.value)
    assert len(text) < 400
    assert "\n" not in text and "\r" not in text and "\x1b" not in text


def test_encoding_examples() -> None:
    assert encode_repository("group/app") == "group%24app"
    assert encode_repository("a/b/c") == "a%24b%24c"
    assert encode_repository("app") == "app"
    assert encode_namespace("my.org_1-x") == "my.org_1-x"
    assert decode_repository("group%24app") == "group/app"
    assert decode_repository("group$app") == "group/app"  # raw '$' (Terraform's form) is accepted too
    assert (
        repo_path("ns1", "group/app", "sync_images")
        == "/v2/manage/namespaces/ns1/repos/group%24app/sync_images"
    )


def test_encoders_validate() -> None:
    with pytest.raises(InvalidName):
        encode_repository("a//b")
    with pytest.raises(InvalidName):
        encode_namespace("1ns")
    with pytest.raises(InvalidName):
        repo_path("ns1", "../../x", "sync_images")


def test_split_full_name() -> None:
    assert split_full_name("ns1/group/app") == ("ns1", "group/app")
    assert split_full_name("ns1/app") == ("ns1", "app")
    for bad, rule in [
        ("app", "full-name"),
        ("ns1/", "length"),
        ("1ns/app", "start"),
        ("ns/a//b", "adjacent-separators"),
    ]:
        with pytest.raises(InvalidName) as info:
            split_full_name(bad)
        assert info.value.rule == rule


# -- properties --------------------------------------------------------------------------------------------------

_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_runs = st.text(alphabet=_ALNUM, min_size=1, max_size=8)


@st.composite
def repositories(draw: st.DrawFn) -> str:
    parts = [draw(_runs)]
    for _ in range(draw(st.integers(0, 12))):
        parts.append(draw(st.sampled_from([".", "-", "_", "__", "/"])))
        parts.append(draw(_runs))
    return "".join(parts)[:REPOSITORY_MAX].rstrip("._-/")


@st.composite
def namespaces(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz"))
    parts = [first + draw(st.text(alphabet=_ALNUM, max_size=6))]
    for _ in range(draw(st.integers(0, 8))):
        parts.append(draw(st.sampled_from([".", "-", "_", "__"])))
        parts.append(draw(_runs))
    return "".join(parts)[:NAMESPACE_MAX].rstrip("._-")


# Arbitrary text, biased towards the characters that matter.
_nasty = st.text(alphabet=_ALNUM[:6] + "A./_-$%?#:@ \\\x00é", max_size=140)


@settings(max_examples=300, deadline=None)
@given(repositories())
def test_generated_repositories_are_valid(name: str) -> None:
    assert validate_repository(name) == name


@settings(max_examples=300, deadline=None)
@given(namespaces())
def test_generated_namespaces_are_valid(name: str) -> None:
    assert validate_namespace(name) == name


def _assert_one_safe_segment(segment: str) -> None:
    assert segment
    assert not any(c in segment for c in "/?#")
    assert "%2f" not in segment.lower()
    assert segment.isascii() and segment.isprintable() and " " not in segment


@settings(max_examples=400, deadline=None)
@given(st.one_of(repositories(), _nasty))
def test_accepted_repositories_encode_to_one_segment_and_round_trip(name: str) -> None:
    if not is_valid_repository(name):
        with pytest.raises(InvalidName):
            encode_repository(name)
        return
    segment = encode_repository(name)
    _assert_one_safe_segment(segment)
    assert "$" not in segment  # '$' goes on the wire as %24, as the signer's canonical URI has it
    assert decode_repository(segment) == name
    assert unquote(segment) == name.replace("/", "$")
    path = repo_path("ns1", name, "sync_images")
    assert path.split("/") == ["", "v2", "manage", "namespaces", "ns1", "repos", segment, "sync_images"]
    # What is signed is what is sent: the canonical URI of the path is the path plus "/".
    assert signer.canonical_uri(path) == path + "/"


@settings(max_examples=300, deadline=None)
@given(st.one_of(namespaces(), _nasty))
def test_accepted_namespaces_encode_to_one_segment(name: str) -> None:
    if not is_valid_namespace(name):
        with pytest.raises(InvalidName):
            encode_namespace(name)
        return
    segment = encode_namespace(name)
    _assert_one_safe_segment(segment)
    assert segment == name  # nothing to escape in a valid namespace


@settings(max_examples=300, deadline=None)
@given(_nasty)
def test_invalid_names_always_name_a_known_rule(name: str) -> None:
    rules = {"length", "characters", "start", "end", "underscores", "adjacent-separators"}
    for validate in (validate_namespace, validate_repository):
        try:
            validate(name)
        except InvalidName as err:
            assert err.rule in rules


# -- invalid names never reach a URL -------------------------------------------------------------------------------


def _calls(client: SwrClient, ns: str, repo: str) -> list[Callable[[], object]]:
    images = SyncImagesRequest(imageTag=["v1"], remoteNamespace="ns2", remoteRegionId="ap-southeast-1")
    policy = SyncRepoRequest(remoteRegionId="ap-southeast-1", remoteNamespace="ns2")
    return [
        lambda: client.sync_images(ns, repo, images),
        lambda: client.list_sync_jobs(ns, repo),
        lambda: list(client.iter_sync_jobs(ns, repo)),
        lambda: client.list_sync_repos(ns, repo),
        lambda: client.create_sync_repo(ns, repo, policy),
        lambda: client.delete_sync_repo(ns, repo, "ap-southeast-1", "ns2"),
        lambda: client.list_tags(ns, repo),
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ns=st.one_of(st.just("ns1"), _nasty), repo=st.one_of(st.just("app"), _nasty))
def test_invalid_names_never_reach_the_server(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], ns: str, repo: str
) -> None:
    if is_valid_namespace(ns) and is_valid_repository(repo):
        return
    client = make_client()
    for call in _calls(client, ns, repo):
        with pytest.raises(InvalidName):
            call()
    if not is_valid_namespace(ns):
        with pytest.raises(InvalidName):
            client.list_repos(ns)
        with pytest.raises(InvalidName):
            list(client.iter_repos(ns))
    assert httpserver.log == []
    assert client.stats.requests == 0


@pytest.mark.parametrize(("ns", "repo"), [("ns1", "a//b"), ("ns1", "../x"), ("1ns", "app"), ("ns1", "a%2Fb")])
def test_invalid_path_names_send_nothing(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient], ns: str, repo: str
) -> None:
    client = make_client()
    for call in _calls(client, ns, repo):
        with pytest.raises(InvalidName):
            call()
    assert httpserver.log == []


def test_invalid_remote_namespace_is_rejected_before_any_request(
    httpserver: HTTPServer, make_client: Callable[..., SwrClient]
) -> None:
    client = make_client()
    with pytest.raises(ValueError):
        SyncImagesRequest(imageTag=["v1"], remoteNamespace="Bad", remoteRegionId="r")
    with pytest.raises(ValueError):
        SyncRepoRequest(remoteRegionId="r", remoteNamespace="a._b")
    with pytest.raises(InvalidName):
        client.delete_sync_repo("ns1", "app", "ap-southeast-1", "bad ns")
    assert httpserver.log == []
