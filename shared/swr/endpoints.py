"""Regional endpoints of SWR and IAM (from the official SDK's region tables)."""

from __future__ import annotations

import re

_REGION = re.compile(r"[a-z]{2,4}(-[a-z0-9]{1,20}){1,4}")
_EU_SOVEREIGN = {"eu-west-101"}


def valid_region(region: str) -> bool:
    return bool(_REGION.fullmatch(region or ""))


def swr_endpoint(region: str) -> str:
    """``https://swr-api.{region}.myhuaweicloud.com``; ``eu-west-101`` lives under ``.myhuaweicloud.eu``."""
    if not valid_region(region):
        raise ValueError(f"invalid region id {region[:40]!r}")
    suffix = "myhuaweicloud.eu" if region in _EU_SOVEREIGN else "myhuaweicloud.com"
    return f"https://swr-api.{region}.{suffix}"


def iam_endpoint(region: str) -> str:
    if not valid_region(region):
        raise ValueError(f"invalid region id {region[:40]!r}")
    suffix = "myhuaweicloud.eu" if region in _EU_SOVEREIGN else "myhuaweicloud.com"
    return f"https://iam.{region}.{suffix}"


def region_endpoint(
    region: str,
    template: str | None = None,
    source_endpoint: str | None = None,
    source_region: str | None = None,
) -> str:
    """SWR's endpoint for another ``region``, reached with the same credentials.

    ``SWR_ENDPOINT_TEMPLATE`` (``{region}`` replaced) wins; else the source's endpoint with its region id
    replaced (``https://swr-api.cn-north-4...`` → ``https://swr-api.ap-southeast-1...``); else the public one.
    Raises ValueError when no rule applies (a custom SWR_ENDPOINT without the region id in it).
    """
    if not valid_region(region):
        raise ValueError(f"invalid region id {region[:40]!r}")
    if template:
        return template.replace("{region}", region)
    if source_endpoint:
        if source_region and source_region in source_endpoint:
            return source_endpoint.replace(source_region, region)
        raise ValueError(
            f"cannot derive the endpoint of region {region} from SWR_ENDPOINT: set SWR_ENDPOINT_TEMPLATE"
        )
    return swr_endpoint(region)
