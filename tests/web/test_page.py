"""The quote page in a real browser (headless chromium), checked against the library."""

import re

import pytest

from costmodel.application import load_application
from costmodel.params import load_ruleset
from costmodel.quote import quote_application
from tests_support import EXAMPLES

WAREHOUSE = EXAMPLES / "world-bank-warehouse.yaml"


def _amount(text: str) -> float:
    """'141,830 元' -> 141830.0"""
    digits = re.sub(r"[^\d.\-−]", "", text).replace("−", "-")
    return float(digits)


def _fill_warehouse(page) -> None:
    """Type the World Bank warehouse case field by field, as a user would."""
    app = load_application(WAREHOUSE)
    enterprise = app.applicant.enterprise
    page.select_option("#example", "household")  # start from another case so every field really changes
    household = load_application(EXAMPLES / "household.yaml")
    # a function, not an expression: the page's Content-Security-Policy forbids eval, which an expression needs
    page.wait_for_function("id => document.querySelector('[name=id]').value === id", arg=household.id)
    page.fill("[name=id]", app.id)
    page.fill("[name=application_date]", app.application_date.isoformat())
    page.select_option("[name=ruleset]", "shandong-2019")
    page.select_option("[name=applicant_kind]", "enterprise")
    page.select_option("[name=industry]", enterprise.industry)
    page.fill("[name=employees]", str(enterprise.employees))
    page.fill("[name=operating_revenue_10k_cny]", str(enterprise.operating_revenue_10k_cny))
    page.fill("[name=total_assets_10k_cny]", "")
    page.select_option("[name=size_class]", "")
    page.select_option("[name=area]", app.site.area)
    page.select_option("[name=park_level]", app.site.park_level)
    page.fill("[name=distance_to_lv_m]", str(app.site.distance_to_lv_m))
    page.fill("[name=distance_to_10kv_m]", str(app.site.distance_to_10kv_m))
    page.fill("[name=transformer_headroom_kva]", str(app.site.transformer_headroom_kva))
    page.fill("[name=road_crossings]", str(app.site.road_crossings))
    page.fill("[name=capacity]", str(app.request.capacity))
    page.select_option("[name=capacity_unit]", app.request.capacity_unit)
    page.fill("[name=power_factor]", str(app.request.power_factor))
    page.select_option("[name=phases]", str(app.request.phases))
    page.select_option("[name=supply]", app.request.supply)
    page.select_option("[name=duration]", app.request.duration)


def test_warehouse_totals_on_the_page_match_the_library(page, artifacts):
    _fill_warehouse(page)
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    expected = quote_application(load_application(WAREHOUSE), load_ruleset("shandong-2019"))
    assert _amount(page.inner_text("#customer-total")) == pytest.approx(expected.totals.customer_cny)
    assert _amount(page.inner_text("#grid-total")) == pytest.approx(expected.totals.grid_cny)
    assert _amount(page.inner_text("#total")) == pytest.approx(expected.totals.total_cny)
    assert page.inner_text("#supply-voltage") == "低压(0.4千伏)"
    # every line of the library's quote is on the page, and the trace cites the Shandong clause
    lines = page.inner_text("#lines")
    assert all(line.component_zh in lines and line.component not in lines for line in expected.lines)  # Chinese mode
    assert "小微企业接入全部“零投资”" in page.inner_text("#trace")
    # side by side with the pre-reform rules: national-1996 makes the customer pay (hand-worked 389,000 in tests/test_quote.py)
    baseline = quote_application(load_application(WAREHOUSE), load_ruleset("national-1996"))
    comparison = page.inner_text("#comparison-table")
    assert f"{baseline.totals.customer_cny:,.0f}" in comparison
    assert page.locator("#chart svg rect").count() >= 3
    page.screenshot(path=str(artifacts / "quote-warehouse-zh.png"), full_page=True)

    page.click("#language")
    page.wait_for_selector("#result[data-lang=en]")  # the server draws the result again in English
    assert page.inner_text("#supply-voltage") == "low voltage (0.4 kV)"
    assert all(line.component in page.inner_text("#lines") for line in expected.lines)
    assert _amount(page.inner_text("#grid-total")) == pytest.approx(expected.totals.grid_cny)
    page.screenshot(path=str(artifacts / "quote-warehouse-en.png"), full_page=True)


def test_the_warehouse_what_if_shows_the_160_kva_cliff_with_both_outcomes(page, artifacts):
    _fill_warehouse(page)
    page.click("#submit")
    page.wait_for_selector("#whatif-section:not([hidden])")
    text = page.inner_text("#whatif")
    # ≤ 160 kVA: low voltage, nothing to pay; > 160 kVA: 10 kV and 402,000 CNY (worked in tests/test_whatif.py)
    assert "≤ 160 kVA: 低压(0.4千伏)" in text and "0 元" in text.split("> 160 kVA")[0]
    assert "> 160 kVA: 10千伏" in text and "402,000" in text
    assert page.locator("#whatif-chart svg line[stroke-dasharray]").count() >= 1
    page.locator("#whatif-section").screenshot(path=str(artifacts / "whatif-warehouse-zh.png"))
    page.click("#language")
    page.wait_for_selector("#result[data-lang=en]")  # the server draws the result again in English
    assert "> 160 kVA: 10 kV" in page.inner_text("#whatif")


def test_a_schedule_warning_is_shown_whole_on_the_page(page):
    _fill_warehouse(page)
    page.fill("[name=application_date]", "2099-12-01")  # beyond every holiday table
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    text = page.inner_text("#schedule-warnings")  # the page opens in Chinese
    assert "2099 年没有节假日数据，按周一至周五为工作日计算" in text and "请将该年补入 tariffs/calendar/cn-holidays.yaml）" in text
    page.click("#language")
    page.wait_for_selector("#result[data-lang=en]")  # the server draws the result again in English
    text = page.inner_text("#schedule-warnings")
    assert "no holiday data for 2099, so Monday to Friday are taken as working days" in text
    assert "add the year to tariffs/calendar/cn-holidays.yaml)" in text


def test_bad_input_shows_a_readable_message(page, artifacts):
    page.fill("[name=capacity]", "-5")
    page.fill("[name=distance_to_lv_m]", "")
    page.click("#submit")
    error = page.wait_for_selector("#error:not([hidden])")
    text = error.inner_text()
    assert "申请容量" in text and "greater than 0" in text and "-5" in text
    assert "distance_to_lv_m" in text and "Field required" in text
    assert page.locator("#result").is_hidden()
    page.screenshot(path=str(artifacts / "quote-bad-input.png"), full_page=True)


def test_pdf_download_from_the_page(page):
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    with page.expect_download() as info:
        page.click("[data-download=pdf]")
    download = info.value
    assert download.suggested_filename == "quote-wb-warehouse.pdf"
    with open(download.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_the_page_and_the_printable_quote_run_under_their_content_security_policies(browser, live_server):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None)
    response = page.goto(live_server + "/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_selector("body[data-ready=true]")
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    with page.expect_download():
        page.click("[data-download=html]")
    # the printable quote served as itself: its inline style sheet is allowed by its policy's hash
    request = {"application": load_application(WAREHOUSE).model_dump(mode="json")}
    report = context.request.post(live_server + "/quote.html", data=request)
    page.route("**/printable", lambda route: route.fulfill(status=200, headers=report.headers, body=report.body()))
    page.goto(live_server + "/printable")
    assert page.evaluate("() => getComputedStyle(document.querySelector('table')).borderCollapse") == "collapse"
    assert refused == []
    context.close()


def test_on_a_390_px_phone_no_result_page_scrolls_sideways(browser, live_server, artifacts):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(live_server + "/")
    page.wait_for_selector("body[data-ready=true]")
    examples = page.eval_on_selector_all("#example option", "options => options.map(o => o.value)")
    assert len(examples) >= 6
    too_wide = []
    for lang in ("zh", "en"):
        for name in examples:
            page.select_option("#example", name)
            page.wait_for_function("name => document.querySelector('[name=id]').value !== '' && document.body.dataset.ready", arg=name)
            page.wait_for_timeout(200)  # the example's fields are filled after its fetch
            page.evaluate("document.querySelector('#result').hidden = true")
            page.click("#submit")
            page.wait_for_selector("#result:not([hidden])")
            page.wait_for_selector("#whatif-section:not([hidden])")
            width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if width[0] > width[1]:
                too_wide.append((lang, name, width))
        page.screenshot(path=str(artifacts / f"phone-{lang}.png"), full_page=True)
        page.click("#language")
        page.wait_for_selector(f"#result[data-lang={'en' if lang == 'zh' else 'zh'}]")
    assert too_wide == []
    # the lines are cards: each value is shown under its column's name
    assert page.locator("#lines td[data-label]").count() > 0
    context.close()


def test_a_copied_link_reproduces_the_quote_in_a_new_browser(page, browser):
    _fill_warehouse(page)
    page.fill("[name=capacity]", "161")  # past the 160 kVA cap: 10 kV, 402,000 CNY (tests/test_whatif.py)
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    link, totals = page.url, page.inner_text(".totals")
    assert "application=" in link and "402,000" in totals
    other = browser.new_context()
    copy = other.new_page()
    copy.goto(link)
    copy.wait_for_selector("#result:not([hidden])")
    assert copy.inner_text(".totals") == totals
    assert copy.input_value("[name=capacity]") == "161"
    other.close()


def test_a_saved_application_opens_again_and_the_cli_reads_it(page, tmp_path):
    _fill_warehouse(page)
    page.fill("[name=employees]", "77")
    with page.expect_download() as info:
        page.click("#save-application")
    saved = tmp_path / "saved.json"
    info.value.save_as(saved)
    assert load_application(saved).applicant.enterprise.employees == 77  # what `costmodel quote FILE` reads
    page.select_option("#example", "household")
    page.wait_for_function("() => document.querySelector('[name=id]').value !== 'wb-warehouse'")
    page.set_input_files("#open-application", str(saved))
    page.wait_for_function("() => document.querySelector('[name=id]').value === 'wb-warehouse'")
    assert page.input_value("[name=employees]") == "77"
    assert float(page.input_value("[name=capacity]")) == load_application(WAREHOUSE).request.capacity


def test_the_schedule_gantt_shades_days_off_and_marks_the_critical_path_and_the_target(page, artifacts):
    _fill_warehouse(page)
    page.click("#submit")
    page.wait_for_selector("#gantt svg")
    schedule = quote_application(load_application(WAREHOUSE), load_ruleset("shandong-2019")).schedule
    assert page.locator("#gantt rect.critical, #gantt rect.slack").count() == len(schedule.stages)
    assert page.locator("#gantt rect.critical").count() == sum(stage.on_critical_path for stage in schedule.stages)
    # 2019-09-03 (Tue) to 2019-09-11 (Wed): the weekend of 7-8 September is off
    assert sorted(page.eval_on_selector_all("#gantt rect.off title", "ts => ts.map(t => t.textContent)")) == ["2019-09-07", "2019-09-08"]
    # Shandong's average target of 7 working days, met by this 7-day plan: the line sits at the end of the plan
    assert "平均目标 7 个工作日" in page.inner_text("#gantt")
    page.locator("#schedule-section").screenshot(path=str(artifacts / "gantt-warehouse-zh.png"))


def test_chinese_mode_shows_no_english_component_name_or_rule_description(page):
    from costmodel.params import resolve_ruleset
    from tests_support import EXAMPLES

    for path in sorted(EXAMPLES.glob("*.yaml")):
        application = load_application(path)
        expected = quote_application(application, resolve_ruleset("shandong", application.application_date))
        page.select_option("#example", path.stem)
        page.wait_for_function("id => document.querySelector('[name=id]').value === id", arg=application.id)
        page.select_option("[name=ruleset]", "shandong")
        page.evaluate("document.querySelector('#result').hidden = true")
        page.click("#submit")
        page.wait_for_selector("#result:not([hidden])")
        shown = page.inner_text("#lines") + page.inner_text("#trace")
        for line in expected.lines:
            assert line.component_zh in shown and line.component not in shown, (path.stem, line.component)
        for step in expected.trace:
            assert step.description_zh in shown and step.description not in shown, (path.stem, step.rule_id)


def test_dont_know_the_transformer_headroom_quotes_with_the_assumption_and_its_range(page):
    _fill_warehouse(page)
    page.check("[name=unknown_transformer_headroom_kva]")
    assert page.is_disabled("[name=transformer_headroom_kva]")
    page.click("#language")  # English
    page.click("#submit")
    page.wait_for_selector("#result:not([hidden])")
    # assumed none (a new 160 kVA public transformer, 85,000): as the warehouse's own 100 kVA headroom gives;
    # with room for all 140 kVA the grid pays 85,000 less: 56,830 to 141,830 CNY
    warnings = page.inner_text("#warnings")
    assert "not known, so assumed: transformer_headroom_kva = 0 kVA (range 0-140)" in warnings
    assert "the grid company 56,830 to 141,830 CNY" in warnings
    assert "application=" in page.url and "%22transformer_headroom_kva%22%3Anull" in page.url


def test_the_printable_quote_with_its_range_fits_a_390_px_phone_in_both_languages(browser, artifacts):
    from costmodel.ranges.model import load_model
    from costmodel.web import report

    parts = report.printable(load_application(EXAMPLES / "municipal-park-factory.yaml"), load_ruleset("shandong-2019"),
                             load_ruleset("national-1996"), load_model(EXAMPLES.parent / "ranges" / "demo-model.zip"))
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    for lang in ("zh", "en"):
        page.set_content(report.quote_html(lang=lang, **parts))
        assert page.locator("#range-table td").count() == 12  # 3 parties x (name, P15, P50, P85)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), lang
        page.screenshot(path=str(artifacts / f"printable-phone-{lang}.png"), full_page=True)
    context.close()
