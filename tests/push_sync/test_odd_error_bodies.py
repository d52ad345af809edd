"""A permanent SWR 4xx stays permanent whatever its error body holds (nested 100,000 deep, NaN, not UTF-8):
push-sync answers 422 with the tag reported failed and not retryable, never a transient 503 "internal error"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.push_sync.conftest import DIGEST, Caller, body_of

PUSH = {"namespace": "demo", "repository": "team/app", "tags": ["v2"], "digest": DIGEST}
BODIES = ["[" * 100_000, '{"errorCode": NaN}', '[{"errorCode": 1e999}]', "{" * 50_000 + '"x"']


@pytest.mark.parametrize("body", BODIES, ids=["nested", "nan", "huge-exponent", "unclosed"])
def test_a_permanent_4xx_with_an_odd_body_stays_permanent(
    seeded: Any, caller_for: Callable[..., Caller], body: str
) -> None:
    seeded.state.add_fault("sync_images", status=400, body=body, times=None)
    answer = caller_for(SWR_ENDPOINT=seeded.url)(PUSH)
    assert answer.status == 422, answer.body
    [result] = body_of(answer)["results"]
    assert result["status"] == "failed"
    assert all(t["retryable"] is False for t in result["targets"]), result
    assert "internal error" not in str(result)
