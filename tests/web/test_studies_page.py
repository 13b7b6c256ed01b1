"""The policy study page: upload a portfolio, tick reforms, see the charts, download the workbook."""

from pathlib import Path

PORTFOLIO = Path(__file__).resolve().parents[2] / "examples" / "portfolios" / "small.csv"


def test_a_portfolio_upload_with_a_reform_shows_the_charts_and_the_workbook_opens(browser, live_server, artifacts, tmp_path):
    from openpyxl import load_workbook

    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(live_server + "/studies")
    page.wait_for_selector("body[data-ready=true]")
    page.set_input_files("#portfolio", str(PORTFOLIO))
    page.check("#reforms input[value=rural-lv-cap-160]")
    page.click("#run")
    page.wait_for_selector("#study-result:not([hidden])")
    assert page.locator("svg.study-chart").count() == 4  # area, size, capacity band, park level
    assert page.locator("svg.study-chart rect.customer").count() >= 4
    figures = page.inner_text("#overall")
    assert "改为低压接入" in figures and "shandong-2019 → shandong-2019+rural-lv-cap-160" in figures
    page.screenshot(path=str(artifacts / "study-zh.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#download-xlsx")
    info.value.save_as(tmp_path / "study.xlsx")
    book = load_workbook(tmp_path / "study.xlsx")
    assert "overall" in book.sheetnames and book["overall"]["A1"].value == "基准"
    page.click("#language")
    assert "Moved to low voltage" in page.inner_text("#overall")
    context.close()
