"""The network optimisation section of the page in a real browser (headless chromium): a tiny uploaded network whose
cost is worked out by hand, and the shipped park on a phone, in both languages."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.api.network_support import TINY_COST_CNY, write_tiny_network

# The park: a short time limit and the form's other defaults; the page's answer is checked against the API's own.
PARK_TIME_LIMIT_S = "20"


def _amount(text: str) -> float:
    """'126,000 元' -> 126000.0"""
    return float(re.sub(r"[^\d.]", "", text))


def _open(browser, live_server, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(f"{message.text} {message.location.get('url')}")
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico") else None)
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-network-ready=true]")
    return context, page, errors


def _answer(response) -> dict:
    """POST /optimize/stream's answer: its last line (the lines before it are progress)."""
    return json.loads(response.text().splitlines()[-1])["answer"]


def _run(page) -> None:
    page.evaluate("document.querySelector('#network-result').hidden = true")
    page.click("#network-run")
    page.wait_for_selector("#network-result:not([hidden])")


def test_a_tiny_uploaded_network_shows_its_hand_worked_cost_its_map_and_who_pays_in_both_languages(
        browser, live_server, artifacts, tmp_path):
    folder = write_tiny_network(tmp_path)
    context, page, errors = _open(browser, live_server, 1200)
    page.click("#network-upload summary")
    for table in ("nodes", "corridors", "customers"):
        page.set_input_files(f"#network-{table}", str(folder / f"{table}.csv"))
    _run(page)
    assert "元" in page.inner_text("#network-cost") and _amount(page.inner_text("#network-cost")) == TINY_COST_CNY
    assert page.inner_text("#network-status-value") == "最优"
    # the design alone is fed at 1.0 pu and its load only lowers voltages: the feeder point is the highest
    assert page.inner_text("#network-ac-voltage-high") == "1.0000 pu（上限 1.0700 pu）"
    assert page.locator("#network-map svg.network-map").count() == 1
    assert "用户产权分界点" in page.inner_text("#network-map")   # the map's legend in Chinese
    components = page.inner_text("#network-components")
    assert "走廊 FJ（F-J）" in components and "走廊 JC（J-C）" in components and "DC" not in components
    assert "未提供用电申请" in page.inner_text("#network-totals")   # no applications uploaded: not quoted
    page.screenshot(path=str(artifacts / "network-tiny-zh.png"), full_page=True)

    page.click("#language")
    page.wait_for_selector("#network-result[data-lang=en]")
    assert page.inner_text("#network-cost") == "126,000 CNY"
    assert page.inner_text("#network-status-value") == "optimal"
    assert page.inner_text("#network-ac-voltage-high") == "1.0000 pu (limit 1.0700 pu)"
    assert "customer red-line point" in page.inner_text("#network-map")
    assert "corridor FJ (F-J)" in page.inner_text("#network-components")
    assert errors == []
    context.close()


def test_the_park_on_a_phone_fits_the_screen_and_shows_the_apis_cost_and_who_pays(browser, live_server, artifacts):
    context, page, errors = _open(browser, live_server, 390)
    page.select_option("#network-example", "park")
    page.fill("#network-time-limit", PARK_TIME_LIMIT_S)
    with page.expect_response("**/optimize/stream") as answered:
        page.click("#network-run")
        busy = page.wait_for_selector("#network-busy:not([hidden])")   # while the park solves (seconds)
        assert f"求解时限 {PARK_TIME_LIMIT_S} 秒" in busy.inner_text() and page.is_disabled("#network-run")
        # the solver's progress as it comes: from the warm start on, a design and its cost in 元
        expect(page.locator("#network-progress")).to_contain_text(re.compile(r"当前最优方案 [\d,]+ 元"), timeout=30_000)
        page.wait_for_selector("#network-result:not([hidden])")
    assert page.locator("#network-busy").is_hidden() and page.is_enabled("#network-run")
    answer = _answer(answered.value)
    cost = answer["report"]["objective_cny"]
    assert page.inner_text("#network-cost") == f"{cost:,.0f} 元"
    assert page.locator("#network-map svg.network-map").count() == 1
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth, "
                          "document.querySelector('#network-map svg').getBoundingClientRect().right]")
    assert width[0] <= width[1] and width[2] <= width[1], width
    # who pays: every quote line of the park, with its payer in Chinese
    assert page.locator("#network-components tr").count() == len(answer["quote"]["lines"]) + 1
    assert "电网企业投资" in page.inner_text("#network-components")
    page.click("#network-zoom")   # enlarged, the map pans inside its box; the page still does not scroll sideways
    page.locator("#network-map").screenshot(path=str(artifacts / "network-park-phone-zh-zoomed-map.png"))
    zoomed = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth, "
                           "document.querySelector('#network-map svg').getBoundingClientRect().width]")
    assert zoomed[0] <= zoomed[1] < zoomed[2], zoomed
    page.click("#network-zoom")
    page.screenshot(path=str(artifacts / "network-park-phone-zh.png"), full_page=True)
    page.locator("#network-section").screenshot(path=str(artifacts / "network-park-phone-zh-section.png"))

    page.click("#language")
    page.wait_for_selector("#network-result[data-lang=en]")
    assert page.inner_text("#network-cost") == f"{cost:,.0f} CNY"
    assert "Grid company invests" in page.inner_text("#network-components")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("#network-section").screenshot(path=str(artifacts / "network-park-phone-en-section.png"))
    assert errors == []
    context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_park_at_desktop_width(browser, live_server, artifacts, lang):
    context, page, errors = _open(browser, live_server, 1200)
    if lang == "en":
        page.click("#language")
    page.select_option("#network-example", "park")
    page.fill("#network-time-limit", PARK_TIME_LIMIT_S)
    with page.expect_response("**/optimize/stream") as answered:
        _run(page)
    assert page.inner_text("#network-cost").startswith(f"{_answer(answered.value)['report']['objective_cny']:,.0f} ")
    page.locator("#network-section").screenshot(path=str(artifacts / f"network-park-desktop-{lang}.png"))
    assert errors == []
    context.close()


def test_a_time_limit_beyond_the_servers_maximum_is_shown_in_the_page(browser, live_server):
    context, page, errors = _open(browser, live_server, 1200)
    maximum = float(page.get_attribute("#network-time-limit", "max"))
    page.fill("#network-time-limit", str(maximum * 10))
    page.click("#network-run")
    text = page.wait_for_selector("#network-error:not([hidden])").inner_text()
    assert "求解时限" in text and f"at most {maximum:g} seconds" in text and f"{maximum * 10:g}" in text
    assert page.locator("#network-result").is_hidden()
    # the 422 is the page's to show: no uncaught error in the console beyond the browser's own note of the failed request
    assert all("422" in error for error in errors)
    context.close()
