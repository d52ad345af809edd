"""Pydantic models of SWR's catalogue: namespaces, repositories, regions, and auto-sync policies (``sync_repo``).

Apart from :mod:`shared.swr.models` (what every push and monitor run exchanges with SWR) so that only the functions
and commands that read the catalogue define these classes (#22: a pydantic class costs its definition even when
its validator is deferred). Same conventions: tolerant responses, strict requests.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from shared.swr.models import EdgeTime, RequestModel, ResponseModel
from shared.swr.names import validate_namespace


class SyncRepoRequest(RequestModel):
    """Body of ``POST/DELETE .../sync_repo`` (auto-sync policy)."""

    remote_region_id: str = Field(alias="remoteRegionId", min_length=1, max_length=64)
    remote_namespace: str = Field(alias="remoteNamespace")
    sync_auto: bool = Field(default=False, alias="syncAuto")
    override: bool = False

    @field_validator("remote_namespace")
    @classmethod
    def _ns(cls, value: str) -> str:
        return validate_namespace(value)


class SyncRepo(ResponseModel):
    id: int = 0
    namespace: str = ""
    repo_name: str = Field(default="", alias="repoName")
    remote_namespace: str = Field(default="", alias="remoteNamespace")
    remote_region_id: str = Field(default="", alias="remoteRegionId")
    override: bool = False
    sync_auto: bool = Field(default=False, alias="syncAuto")
    created_at: EdgeTime = Field(default=None, alias="createdAt")
    updated_at: EdgeTime = Field(default=None, alias="updatedAt")
    domain_id: str = Field(default="", alias="domainID")
    domain_name: str = Field(default="", alias="domainName")


class Repository(ResponseModel):
    """An item of ``GET /v2/manage/repos``."""

    name: str
    namespace: str = ""
    category: str = ""
    description: str = ""
    size: int = 0
    is_public: bool = False
    num_images: int = 0
    num_download: int = 0
    url: str = ""
    path: str = ""
    internal_path: str = ""
    domain_name: str = ""
    tags: list[str] | None = None
    created_at: EdgeTime = None
    updated_at: EdgeTime = None
    total_range: int | None = None


class Namespace(ResponseModel):
    id: int = 0
    name: str
    creator_name: str = ""
    auth: int = 0


class Region(ResponseModel):
    region_id: str = Field(alias="regionID")
    name: str = ""
