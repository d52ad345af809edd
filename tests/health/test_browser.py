"""The health page in a real browser: Debian's chromium driven through chromedriver by Selenium (nothing is
downloaded). Skipped only where no browser is installed, and never in CI (.ci/run installs both packages)."""

from __future__ import annotations

import os
import shutil
import struct
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.job_monitor.health import links
from localdev.local_stack import DEMO_MONITOR_TOKEN, LocalStack
from tests.health.conftest import HOSTILE_REPO

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        if os.environ.get("CI"):
            pytest.fail("CI: chromium and chromium-driver must be installed (.ci/run installs them)")
        pytest.skip("no chromium/chromedriver on this machine (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def signed(stack: LocalStack, ttl: int = 600, now: float | None = None) -> str:
    return links.url(f"{stack.gateway.url}/health", DEMO_MONITOR_TOKEN, ttl, now)


def cell_states(driver: Any) -> dict[tuple[str, str], str]:
    from selenium.webdriver.common.by import By

    out: dict[tuple[str, str], str] = {}
    regions = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#matrix thead th")][1:]
    for row in driver.find_elements(By.CSS_SELECTOR, "#matrix tbody tr"):
        repo = row.find_element(By.TAG_NAME, "th").text
        for region, td in zip(regions, row.find_elements(By.TAG_NAME, "td"), strict=True):
            state = td.get_attribute("data-state")
            if state:
                # every colour also has its state written: the badge text equals the state
                assert td.find_element(By.CLASS_NAME, "badge").text == state
                out[(repo, region)] = state
    return out


def test_the_page_renders_every_state_of_the_seeded_run(health_stack: LocalStack, browser: Any) -> None:
    browser.get(signed(health_stack))
    assert browser.title == "swr-sync · replication health"
    states = cell_states(browser)
    assert states[("demo/team/app", "ap-southeast-1")] == "verified"
    assert {v for v in states.values()} == {"verified", "pending", "syncing", "failed", "missing", "stuck"}
    assert browser.execute_script("return window.pwned === undefined"), "no injected script ran"
    assert (f"team/{HOSTILE_REPO}", "ap-southeast-1") in states, "markup in a name shows as text"
    assert browser.find_elements("css selector", "figure svg polyline"), "the lag chart is drawn"


def wait_for(driver: Any, fragment: str) -> None:
    """Until the URL holds ``fragment`` and the new page is loaded."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if (
            fragment in driver.current_url
            and driver.execute_script("return document.readyState") == "complete"
        ):
            return
        time.sleep(0.05)
    raise AssertionError(f"the page never reached {fragment!r}: {driver.current_url}")


def test_filters_work_by_keyboard(health_stack: LocalStack, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    browser.get(signed(health_stack))
    state = browser.find_element(By.ID, "f-state")
    state.send_keys("failed")  # typing selects the option; the page submits the form on change
    wait_for(browser, "state=failed")
    assert set(cell_states(browser).values()) == {"failed"}
    assert "sig=" in browser.current_url, "the form keeps the signed link"
    region = browser.find_element(By.ID, "f-region")
    region.send_keys(Keys.DOWN)  # "all" -> the first region
    wait_for(browser, "region=ap-southeast-1")
    states = cell_states(browser)
    assert states and all(r == "ap-southeast-1" and s == "failed" for (_, r), s in states.items())
    browser.find_element(By.ID, "f-state").send_keys(Keys.HOME)  # back to "all" states
    wait_for(browser, "state=&")
    assert "verified" in set(cell_states(browser).values())


def test_an_expired_link_is_refused_with_a_clear_page(health_stack: LocalStack, browser: Any) -> None:
    browser.get(signed(health_stack, 60, now=time.time() - 3600))
    assert "This link cannot be used" in browser.find_element("tag name", "h1").text
    assert "expired" in browser.find_element("id", "refused").text
    assert not browser.find_elements("id", "matrix")


def _png_distinct_pixels(data: bytes) -> int:
    """Distinct colours in an 8-bit RGB(A) PNG (enough for a screenshot), decoded with zlib only."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    colours: set[bytes] = set()
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up, up_left = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
                line[i] = (line[i] + pred) & 0xFF
        if y % 8 == 0:
            colours.update(bytes(line[i : i + 3]) for i in range(0, stride, channels * 4))
        prev = line
    return len(colours)


def test_a_screenshot_is_taken_and_is_not_blank(
    health_stack: LocalStack, browser: Any, tmp_path: Path
) -> None:
    browser.get(signed(health_stack))
    shot = tmp_path / "health.png"
    assert browser.save_screenshot(str(shot))
    assert _png_distinct_pixels(shot.read_bytes()) > 8, "the screenshot shows more than a blank page"
    out = os.environ.get("HEALTH_SCREENSHOT")
    if out:  # docs/health.png is made this way: HEALTH_SCREENSHOT=docs/health.png pytest tests/health
        shutil.copy(shot, out)
