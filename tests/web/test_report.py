"""Printable HTML and PDF quotes: Chinese with a CJK font, English Latin-1 without one."""

import pytest

from costmodel.application import load_application
from costmodel.params import load_ruleset
from costmodel.quote import quote_application
from costmodel.web import report
from tests_support import EXAMPLES


@pytest.fixture(scope="module")
def quote() -> dict:
    return quote_application(load_application(EXAMPLES / "world-bank-warehouse.yaml"), load_ruleset("shandong-2019")).model_dump(mode="json")


def test_labels_exist_in_both_languages():
    labels = report.all_labels()
    assert set(labels["zh"]) == set(labels["en"])


def test_trace_sentences_cite_the_clause(quote):
    sentences = report.trace_sentences(quote, report.labels("en"))
    assert sentences[2].startswith("Investment boundary: the meter (zero investment). Rule boundary.zero_investment_small_micro")
    assert "小微企业接入全部“零投资”" in sentences[2]


def test_the_schedule_is_shown_with_its_limit_and_stages(quote):
    schedule = quote["schedule"]
    english = report.quote_html(quote, "en")
    assert f"Power by {schedule['energisation_due_date']}: {schedule['total_working_days']} working days" in english
    # Shandong 2019's 7 working days at low voltage is an average target, not a limit owed to this customer
    assert schedule["limit_basis"] == "average"
    assert f"average target {schedule['limit_working_days']} working days (this plan within it)" in english
    assert "limit" not in english.split("Power by", 1)[1].split("</p>", 1)[0]
    assert f"<td>{schedule['stages'][0]['name_en']}</td>" in english
    assert f"<td>{schedule['stages'][0]['name_zh']}</td>" in report.quote_html(quote, "zh")


def test_latin1_fallback_keeps_ascii_and_marks_what_it_drops():
    assert report.latin1("《中小企业划型标准规定》(2011), 第四条 ≤ 160") == '"[...]"(2011), [...] <= 160'


def test_pdf_without_a_cjk_font_is_english(quote, monkeypatch):
    monkeypatch.setattr(report, "find_cjk_font", lambda: None)
    pdf = report.quote_pdf(quote, "zh")
    assert pdf.startswith(b"%PDF-") and b"Helvetica" in pdf


def test_pdf_embeds_the_cjk_font_when_installed(quote):
    if report.find_cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")
    pdf = report.quote_pdf(quote, "zh")
    assert pdf.startswith(b"%PDF-") and b"/FontFile2" in pdf and b"Helvetica" not in pdf


def _filled_rectangle_colours(pdf: bytes) -> list[str]:
    """The fill colour (`r g b rg`) in force at each filled rectangle (`re f`, `re B`) of a PDF's page streams,
    following the graphics-state stack (`q` saves, `Q` restores)."""
    import re
    import zlib

    text = b""
    for match in re.finditer(rb"/Filter\s*/FlateDecode.*?stream\r?\n", pdf, re.S):
        try:
            text += zlib.decompressobj().decompress(pdf[match.end():match.end() + 1_000_000])
        except zlib.error:
            continue
    colour, saved, filled = "0 g", [], []
    for token in re.finditer(rb"([\d.]+ [\d.]+ [\d.]+) rg|(?<![\w/])q(?![\w])|(?<![\w/])Q(?![\w])|re ([fB])\b", text):
        if token.group(1):
            colour = token.group(1).decode()
        elif token.group(0) == b"q":
            saved.append(colour)
        elif token.group(0) == b"Q":
            colour = saved.pop() if saved else colour
        else:
            filled.append(colour)
    return filled


def test_pdf_tables_do_not_take_the_split_bars_colours(quote):
    # without the schedule, whose Gantt chart draws the critical path in the customer's red
    colours = _filled_rectangle_colours(report.quote_pdf(dict(quote, schedule=None), lang="en"))
    blue, red = "0.3098 0.5059 0.7412", "0.7529 0.3137 0.302"  # the bar's grid (79, 129, 189) and customer (192, 80, 77)
    assert colours.count(blue) <= 1 and colours.count(red) <= 1, colours
    assert len(colours) > 10  # the tables were drawn and read


def test_pdf_page_rows_filled_with_the_grid_colour_are_the_split_bar_alone(tmp_path):
    """The PDF as a reader sees it (pdftoppm): the park factory's customer-paid lines are not filled blue."""
    import shutil
    import subprocess

    from PIL import Image

    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) not installed")
    factory = quote_application(load_application(EXAMPLES / "municipal-park-factory.yaml"), load_ruleset("shandong-2019")).model_dump(mode="json")
    assert {line["funded_by"] for line in factory["lines"]} == {"customer", "grid"}
    (tmp_path / "q.pdf").write_bytes(report.quote_pdf(factory, "en"))
    subprocess.run(["pdftoppm", "-r", "72", "-png", "-f", "1", "-l", "1", str(tmp_path / "q.pdf"), str(tmp_path / "page")], check=True)
    image = Image.open(next(tmp_path.glob("page*.png"))).convert("RGB")
    grid_blue = (79, 129, 189)

    def blue_share(y: int) -> float:
        pixels = [image.getpixel((x, y)) for x in range(image.width)]
        return sum(all(abs(a - b) <= 8 for a, b in zip(pixel, grid_blue)) for pixel in pixels) / image.width

    filled = [y for y in range(image.height) if blue_share(y) > 0.2]
    # the bar is 28 of 560 units high, drawn 520 pt wide: 26 px at 72 dpi; its grid part is 211,000 of 577,000
    assert filled and filled[-1] - filled[0] + 1 == len(filled) <= 28, filled


def test_a_calendar_fallback_warning_is_shown_whole_in_the_html_and_the_pdf(tmp_path):
    import shutil
    import subprocess

    application = load_application(EXAMPLES / "world-bank-warehouse.yaml").model_copy(
        update={"application_date": __import__("datetime").date(2099, 12, 1)})  # beyond any holiday table
    late = quote_application(application, load_ruleset("shandong-2019")).model_dump(mode="json")
    (warning,) = [w for w in late["schedule"]["warnings"] if w.startswith("calendar:")][:1]
    assert "no holiday data for 2099, so Monday to Friday are taken as working days" in warning
    assert "; " not in warning  # the separator between warnings: a message with one was cut into fragments
    assert f"Notes: {warning}</p>" in report.quote_html(late, "en")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    (tmp_path / "late.pdf").write_bytes(report.quote_pdf(late, "en"))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "late.pdf"), "-"], capture_output=True, text=True).stdout
    assert " ".join(text.split()).count("no holiday data for 2099") == 1  # under the schedule, once


def test_the_printed_quote_shows_the_what_if_cliff_with_both_outcomes(tmp_path):
    import shutil
    import subprocess

    from costmodel.whatif import quote_with_whatif

    quoted, whatif = quote_with_whatif(load_application(EXAMPLES / "world-bank-warehouse.yaml"), load_ruleset("shandong-2019"))
    quoted, whatif = quoted.model_dump(mode="json"), whatif.model_dump(mode="json")
    english = report.quote_html(quoted, "en", whatif=whatif)
    # hand-worked in tests/test_whatif.py: 0 CNY at low voltage up to 160 kVA, 402,000 CNY at 10 kV above
    assert "≤ 160 kVA: low voltage (0.4 kV), the meter (zero investment), customer pays 0 CNY, 7 working days" in english
    assert "&gt; 160 kVA: 10 kV, the point of connection, customer pays 402,000 CNY, 40 working days" in english
    if shutil.which("pdftotext") is None or report.find_cjk_font() is None:
        pytest.skip("pdftotext or the CJK font not installed")
    (tmp_path / "q.pdf").write_bytes(report.quote_pdf(quoted, "zh", whatif=whatif))
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "q.pdf"), "-"], capture_output=True, text=True).stdout.split())
    assert "什么会改变报价" in text and "> 160 kVA: 10千伏" in text and "402,000" in text
    # beyond what 10 kV serves, the variant is not quoted: the reason in the quote's language
    chinese = report.quote_html(quoted, "zh", whatif=whatif)
    assert "&gt; 10000 kVA: 申请容量 10001.0 千伏安超过10千伏可供容量" in chinese and "exceeds what 10 kV serves" not in chinese


def test_cli_quote_pdf_is_the_page_s_pdf_with_number_issue_date_validity_customer_and_legend(tmp_path):
    import shutil
    import subprocess
    import sys

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    warehouse = EXAMPLES / "world-bank-warehouse.yaml"
    result = subprocess.run([sys.executable, "-c", "from costmodel.cli import main; main()", "quote", str(warehouse),
                             "--ruleset", "shandong-2019", "--pdf", str(tmp_path / "cli.pdf"), "--lang", "en"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    parts = report.printable(load_application(warehouse), load_ruleset("shandong-2019"), load_ruleset("national-1996"))
    (tmp_path / "page.pdf").write_bytes(report.quote_pdf(lang="en", **parts))
    texts = [" ".join(subprocess.run(["pdftotext", str(tmp_path / name), "-"], capture_output=True, text=True).stdout.split())
             for name in ("cli.pdf", "page.pdf")]
    assert texts[0] == texts[1]  # the same document (the PDFs' bytes differ only in their creation time)
    text = texts[0]
    quote = parts["quote"]
    assert f"Quote number: {report.quote_number(quote)}" in text and quote["provenance"]["ruleset_content_hash"][:6] in text
    assert f"Issued: {__import__('datetime').date.today().isoformat()}" in text
    # low voltage: the supply scheme is valid 3 months (《供电营业规则》 art. 20, as commonly cited)
    assert "Valid until:" in text and "3 months" in text and "第二十条" in text
    assert "Customer and site: wb-warehouse: Enterprise, warehousing, small; urban, park: not in a park, 150 m" in text
    assert "~ indicative unit cost" in text and "* placeholder rate" in text


def test_the_page_the_printable_page_and_the_pdf_are_one_layout():
    import re

    parts = report.printable(load_application(EXAMPLES / "municipal-park-factory.yaml"), load_ruleset("shandong-2019"),
                             load_ruleset("national-1996"))

    def text(html: str) -> str:
        html = re.sub(r"<(title|style|summary)>.*?</\1>|<details>.*?</details>", "", html, flags=re.S)
        return " ".join(re.sub(r"<[^>]+>", " ", html).split())

    page, printed = (text(report.render(lang="zh", target=target, **parts)) for target in ("page", "print"))
    words = report.labels("zh")
    assert printed == f'{words["title"]} {page}'  # the printable page is the page's result under its title
    pdf_html = report.render(lang="zh", target="pdf", **parts)
    assert "<svg" not in pdf_html and pdf_html.count('<img src="data:image/svg+xml;base64,') == 5  # split, what-if, Gantt, 2 compared
    for line in parts["quote"]["lines"]:
        assert line["component_zh"] in page and line["component_zh"] in pdf_html


def test_chinese_mode_words_the_layers_and_the_rule_set_title_in_chinese():
    from costmodel.params import resolve_ruleset

    warehouse = load_application(EXAMPLES / "world-bank-warehouse.yaml")
    quoted = quote_application(warehouse, resolve_ruleset("shandong", warehouse.application_date)).model_dump(mode="json")
    chinese = report.quote_html(quoted, "zh")
    # shandong-2019 decides the low-voltage cap; national-1996 alone would give 10 kV (tests/test_quote.py)
    assert "由shandong-2019（省级层级）决定。 若单独适用national-1996（国家）：10千伏（规则 voltage.10kv_default）。" in chinese
    assert "山东进一步优化提升简化获得电力实施意见（2019年7月），齐鲁模式，基于改革前全国基准" in chinese
    assert "would give" not in chinese and "(provincial)" not in chinese and "Qilu model" not in chinese
    english = report.quote_html(quoted, "en")
    assert "Decided by the shandong-2019 (provincial) layer. Alone, national-1996 (national) would give 10 kV by voltage.10kv_default." in english


def test_a_quote_with_a_budget_range_prints_it_for_each_party_with_its_source():
    from costmodel.ranges.model import load_model

    model = load_model(EXAMPLES.parent / "ranges" / "demo-model.zip")
    warehouse = load_application(EXAMPLES / "world-bank-warehouse.yaml")
    parts = report.printable(warehouse, load_ruleset("shandong-2019"), range_model=model)
    budget_range = parts["quote"]["budget_range"]
    # the small enterprise pays nothing: its range has no width; the grid's is the total's (it funds it all)
    assert budget_range["customer"] == {"low_cny": 0.0, "median_cny": 0.0, "high_cny": 0.0}
    assert budget_range["grid"] == budget_range["total"] and budget_range["total"]["low_cny"] < budget_range["total"]["high_cny"]
    english, chinese = (report.render(lang=lang, target="page", **parts) for lang in ("en", "zh"))
    low, median, high = (f'{budget_range["total"][f"{kind}_cny"]:,.0f}' for kind in ("low", "median", "high"))
    assert f'<td>Total</td><td class="num">{low}</td><td class="num">{median}</td><td class="num">{high}</td>' in english
    assert '<td>Customer pays</td><td class="num">0</td><td class="num">0</td><td class="num">0</td>' in english
    assert f'From {budget_range["source"]["rows"]:,} completed connections' in english and "SYNTHETIC" in english
    assert "可能的偏差范围" in chinese and "合成的历史数据" in chinese and "SYNTHETIC" not in chinese
    assert "P15 (CNY)" in english and '<img src="data:image/svg+xml' in report.render(lang="en", target="pdf", **parts)


def test_a_server_started_with_a_range_model_shows_the_range_on_the_page_and_in_the_pdf(monkeypatch, tmp_path):
    import shutil
    import subprocess

    from fastapi.testclient import TestClient

    from costmodel.api import create_app
    from costmodel.ranges import RANGE_MODEL_ENV

    monkeypatch.setenv(RANGE_MODEL_ENV, str(EXAMPLES.parent / "ranges" / "demo-model.zip"))
    request = {"application": load_application(EXAMPLES / "municipal-park-factory.yaml").model_dump(mode="json")}
    with TestClient(create_app()) as client:
        quoted = client.post("/quote", json=request).json()["budget_range"]
        page = client.post("/quote.html?fragment=true&lang=en", json=request).text
        pdf = client.post("/quote.pdf?lang=en", json=request).content
    assert 'id="range-table"' in page and f'{quoted["customer"]["high_cny"]:,.0f}' in page
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) not installed")
    (tmp_path / "q.pdf").write_bytes(pdf)
    text = " ".join(subprocess.run(["pdftotext", str(tmp_path / "q.pdf"), "-"], capture_output=True, text=True).stdout.split())
    assert "How far off it might be" in text and f'{quoted["total"]["median_cny"]:,.0f}' in text


def test_prepayments_placeholder_shares_and_the_price_level_are_printed_apart_from_the_costs():
    import datetime as dt

    warehouse = load_application(EXAMPLES / "world-bank-warehouse.yaml")
    # a temporary, dual-supply connection of 2016, before 1895号 abolished the temporary connection fee (2017-12-01)
    temporary = warehouse.model_copy(update={"application_date": dt.date(2016, 5, 3), "request": warehouse.request.model_copy(
        update={"duration": "temporary", "supply": "dual", "backup_capacity": 100})})
    quoted = quote_application(temporary, load_ruleset("national-1996")).model_dump(mode="json")
    (prepayment,) = quoted["prepayments"]
    assert prepayment["amount_cny"] == prepayment["quantity"] * prepayment["rate_cny"] == quoted["totals"]["prepayment_cny"]
    english = report.render(quoted, "en", "page")
    assert "Refundable prepayments" in english and f'<td class="num">{prepayment["amount_cny"]:,.0f} *</td>' in english
    assert "在合同约定期限内结束临时用电的" in english  # the refund condition, as the text says it
    placeholder = quoted["totals"]["customer_placeholder_cny"]
    assert placeholder > 0 and f"Of which at placeholder rates: customer {placeholder:,.0f} CNY" in english
    # the index (NBS PPI, 2019 = 100) starts at 2019's -0.3 %, so 2018 = 100 / 0.997 is the nearest year to 2016
    assert "<dd>2018 (moved from 2019 by the nbs-ppi index, x 1.0030)</dd>" in english
    at_2019 = report.render(quote_application(temporary, load_ruleset("national-1996"), price_level="catalogue").model_dump(mode="json"), "en", "page")
    assert "<dd>2019 (the catalogue&#39;s price year)</dd>" in at_2019
    chinese = report.render(quoted, "zh", "page")
    assert "可退还的预交款" in chinese and "临时接电费（可退还的预交款）" in chinese and "其中按占位费率计" in chinese


def test_a_2019_quote_is_at_the_catalogue_s_price_year_and_names_its_industry_in_chinese(quote):
    warehouse = load_application(EXAMPLES / "world-bank-warehouse.yaml").model_dump(mode="json")
    # applied in 2019, the catalogue's own price year: nothing was moved by the index (its factor is 1)
    assert quote["price_level"]["price_year"] == quote["price_level"]["catalogue_price_year"] == 2019
    chinese = report.render(quote, "zh", "page", application=warehouse)
    assert "<dd>2019 (单价目录的价格年份)</dd>" in chinese and "指数调整" not in chinese
    assert "wb-warehouse: 企业, 仓储业, 小型" in chinese  # the size table's name of the industry, not its key
