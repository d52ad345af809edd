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
