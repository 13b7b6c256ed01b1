"""Downloadable quotes: a printable HTML page and a PDF, in Chinese or English.

Both render a quote as the API returns it (a JSON-ready dict), so fields added to `Quote` later
(the schedule) show up without changes here. Labels come from static/labels.json, shared with the page.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

STATIC_DIR = Path(__file__).parent / "static"
from costmodel.fonts import find_cjk_font  # noqa: F401 - the PDF's font, found by path (tests patch it here)
from costmodel.quote import ZONE_ORDER  # one order of zones for every renderer
LANGUAGES = ("zh", "en")
# Debian packages that ship a CJK font fpdf2 can embed (TrueType outlines; the .ttc collections work
# with collection_font_number). COSTMODEL_CJK_FONT names another file.
OUTCOME_PREFIX = {"supply_voltage": "v_", "investment_boundary": "b_", "enterprise_size": "s_"}


@lru_cache(maxsize=1)
def all_labels() -> dict[str, dict[str, str]]:
    return json.loads((STATIC_DIR / "labels.json").read_text(encoding="utf-8"))


def labels(lang: str) -> dict[str, str]:
    return all_labels()[lang if lang in LANGUAGES else "en"]


def outcome_label(words: dict[str, str], decision: str, outcome: str) -> str:
    return words.get(OUTCOME_PREFIX.get(decision, "") + outcome, outcome)


def in_language(record: dict, field: str, words: dict[str, str]):
    """A quote's text in the labels' language: its `<field>_zh` in Chinese where the data gives one, else the English."""
    return (record.get(f"{field}_zh") if words["code"] == "zh" else None) or record[field]


def unit_label(unit: str, words: dict[str, str]) -> str:
    return words.get(f"unit_{unit}", unit)


def trace_sentences(quote: dict, words: dict[str, str]) -> list[str]:
    """Each trace step as one sentence citing its clause."""
    sentences = []
    for step in quote["trace"]:
        description = in_language(step, "description", words)
        outcome = description if step["decision"] == "fees" else outcome_label(words, step["decision"], step["outcome"])
        sentence = words["trace_sentence"].format(
            decision=words.get("d_" + step["decision"], step["decision"]), outcome=outcome,
            rule=step["rule_id"], description=description, cites=step["cites"],
        )
        if step.get("layer"):
            sentence += " " + words["trace_layer"].format(layer=step["layer"])
        if step.get("other_layer"):
            sentence += " " + words["trace_other_layer"].format(other=step["other_layer"])
        sentences.append(sentence)
    return sentences


def lines_by_zone(quote: dict) -> list[tuple[str, list[dict]]]:
    zones = [zone for zone in ZONE_ORDER if any(line["zone"] == zone for line in quote["lines"])]
    zones += sorted({line["zone"] for line in quote["lines"]} - set(zones))
    return [(zone, [line for line in quote["lines"] if line["zone"] == zone]) for zone in zones]


def cny(value: float) -> str:
    return f"{value:,.0f}"


def price(value: float | None, words: dict[str, str]) -> str:
    """A line's unit cost or amount; None where no sourced unit cost exists (never shown as 0)."""
    return words["not_priced"] if value is None else cny(value)


def split_svg(totals: dict, words: dict[str, str], width: int = 560) -> str:
    """Customer vs grid company as one stacked bar, with the amounts beside it."""
    total = totals["total_cny"] or 1.0
    customer_w = round(width * totals["customer_cny"] / total) if totals["total_cny"] else 0
    grid_w = width - customer_w if totals["total_cny"] else 0
    esc = html.escape
    return (
        f'<svg class="split" role="img" viewBox="0 0 {width} 64" width="{width}" height="64" xmlns="http://www.w3.org/2000/svg">'
        f'<title>{esc(words["split"])}</title>'
        f'<rect x="0" y="0" width="{width}" height="28" fill="#eee"/>'
        f'<rect x="0" y="0" width="{customer_w}" height="28" fill="#c0504d"/>'
        f'<rect x="{customer_w}" y="0" width="{grid_w}" height="28" fill="#4f81bd"/>'
        f'<rect x="0" y="40" width="12" height="12" fill="#c0504d"/>'
        f'<text x="18" y="51" font-size="13">{esc(words["customer"])} {cny(totals["customer_cny"])} {esc(words["cny"])}</text>'
        f'<rect x="{width // 2}" y="40" width="12" height="12" fill="#4f81bd"/>'
        f'<text x="{width // 2 + 18}" y="51" font-size="13">{esc(words["grid"])} {cny(totals["grid_cny"])} {esc(words["cny"])}</text>'
        "</svg>"
    )


def _side_text(side: dict, words: dict[str, str]) -> str:
    if side["rejected"]:
        return side["rejected"]
    return (f'{outcome_label(words, "supply_voltage", side["supply_voltage"])}, '
            f'{outcome_label(words, "investment_boundary", side["boundary"])}, {words["whatif_customer"]} {cny(side["customer_cny"])} '
            f'{words["cny"]}, {side["working_days"]} {words["whatif_days"]}')


def whatif_sentences(whatif: dict, words: dict[str, str]) -> list[str]:
    """Each threshold that changes the quote, both sides; then each size, park level or listing that would."""
    sentences = [f'{cliff["below_label"]}: {_side_text(cliff["below"], words)} | {cliff["above_label"]}: '
                 f'{_side_text(cliff["above"], words)} ({", ".join(cliff["parameters"])}; {words["your_request"]}: '
                 f'{cliff["below_label"] if cliff["current_side"] == "below" else cliff["above_label"]})' for cliff in whatif["cliffs"]]
    for option in whatif["alternatives"]:
        if option["changes"]:
            value = (outcome_label(words, "enterprise_size", option["value"]) if option["dimension"] == "enterprise_size"
                     else words.get(f'park_{option["value"]}', option["value"]) if option["dimension"] == "park_level"
                     else words["yes" if option["value"] == "true" else "no"])
            sentences.append(f'{words[option["dimension"]]}: {value} → {_side_text(option["outcome"], words)}')
    return sentences


def schedule_summary(schedule: dict, words: dict[str, str]) -> str:
    limit = schedule["limit_working_days"]
    kind = "target" if schedule.get("limit_basis") == "average" else "limit"  # an average is not a time owed to this customer
    limit_text = words["limit_none"] if limit is None else words[f"{kind}_{'within' if schedule['within_limit'] else 'over'}"].replace("{limit}", str(limit))
    return (words["schedule_summary"].replace("{date}", str(schedule["energisation_due_date"]))
            .replace("{days}", str(schedule["total_working_days"])).replace("{calendar}", str(schedule["calendar_days"]))
            .replace("{limit}", limit_text))


def _schedule_rows(schedule: dict, words: dict[str, str], lang: str) -> tuple[list[str], list[list[str]]]:
    header = [words[k] for k in ("stage", "start", "due", "working_days", "critical_path")]
    rows = [[stage["name_zh"] if lang == "zh" else stage["name_en"], str(stage["start_date"]), str(stage["due_date"]),
             str(stage["working_days"]), "●" if stage["on_critical_path"] else ""] for stage in schedule["stages"]]
    return header, rows


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def printable(application, ruleset, compare_with=None) -> dict:
    """What a printed quote shows, as the page and `costmodel quote --pdf` both print it: the quote, the same
    application under `compare_with` (a rule set, or None), its what-if and the application itself."""
    from costmodel.quote import quote_application
    from costmodel.whatif import quote_with_whatif

    quoted, whatif = quote_with_whatif(application, ruleset)
    compared = [] if compare_with is None else [quote_application(application, compare_with).model_dump(mode="json")]
    return {"quote": quoted.model_dump(mode="json"), "compared": compared, "whatif": whatif.model_dump(mode="json"),
            "application": application.model_dump(mode="json")}


def quote_number(quote: dict) -> str:
    """The same application quoted under the same rules on the same date has the same number."""
    provenance = quote["provenance"]
    return f'{quote["application_id"]}-{str(provenance["evaluation_date"]).replace("-", "")}-{provenance["ruleset_content_hash"][:6]}'


def _document(quote: dict, application: dict | None, words: dict[str, str], issued: dt.date) -> list[tuple[str, str]]:
    """What makes a quote fit to send: its number, issue date, validity (with the clause), customer and site."""
    rows = [(words["quote_number"], quote_number(quote)), (words["issued"], issued.isoformat())]
    validity = quote.get("validity")
    if validity:
        until = (pd.Timestamp(issued) + pd.DateOffset(months=validity["months"])).date()
        rows.append((words["valid_until"], f'{until.isoformat()} ({words["valid_months"].format(months=validity["months"])}; '
                                           f'{validity["cites"]})'))
    if application:
        applicant, site = application["applicant"], application["site"]
        enterprise = applicant.get("enterprise") or {}
        who = [words.get(f'kind_{applicant["kind"]}', applicant["kind"]), enterprise.get("industry"),
               outcome_label(words, "enterprise_size", quote["enterprise_size"])]
        where = words["site_text"].format(area=words.get(f'area_{site["area"]}', site["area"]),
                                          park=words.get(f'park_{site["park_level"]}', site["park_level"]),
                                          lv=_known(site["distance_to_lv_m"], words), mv=_known(site["distance_to_10kv_m"], words))
        rows.append((words["customer_site"], f'{application["id"]}: {", ".join(w for w in who if w)}; {where}'))
    return rows


def _known(value, words: dict[str, str]) -> str:
    return words["not_known"] if value is None else f"{value:g}"


def _figures(quote: dict, words: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (words["application_id"], quote["application_id"]),
        (words["ruleset"], f'{quote["ruleset"]} ({quote["provenance"]["ruleset_title"]})'),
        (words["capacity"], f'{quote["capacity_kva"]:,.1f} kVA ({quote["capacity_kw"]:,.1f} kW)'),
        (words["enterprise_size"], outcome_label(words, "enterprise_size", quote["enterprise_size"])),
        (words["supply_voltage"], outcome_label(words, "supply_voltage", quote["supply_voltage"])),
        (words["boundary"], outcome_label(words, "investment_boundary", quote["boundary"])),
    ]


def _provenance_text(quote: dict) -> str:
    p = quote["provenance"]
    return (f'{p["ruleset_id"]} ({" ← ".join(p["ruleset_lineage"])}) #{p["ruleset_content_hash"]}; '
            f'{p["evaluation_date"]}; {p["catalog_id"]} {p["catalog_edition"]}; {p["design_scheme"]}'
            + (f'; overrides {", ".join(p["overrides"])}' if p["overrides"] else ""))


def _comparison_rows(quote: dict, others: list[dict], words: dict[str, str]) -> tuple[list[str], list[list[str]]]:
    quotes = [*others, quote]
    header = ["", *[q["ruleset"] for q in quotes], words["difference"]]
    rows = [
        [words["supply_voltage"], *[outcome_label(words, "supply_voltage", q["supply_voltage"]) for q in quotes], ""],
        [words["boundary"], *[outcome_label(words, "investment_boundary", q["boundary"]) for q in quotes], ""],
    ]
    for key, label in (("customer_cny", "customer"), ("grid_cny", "grid"), ("total_cny", "total")):
        values = [q["totals"][key] for q in quotes]
        rows.append([words[label], *[cny(v) for v in values], f"{values[-1] - values[0]:+,.0f}"])
    return header, rows


PRINT_CSS = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif;margin:2em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em} h2{font-size:1.15em;border-bottom:1px solid #999;margin-top:1.4em}
table{border-collapse:collapse;width:100%;font-size:.9em} td,th{border:1px solid #bbb;padding:3px 6px;text-align:left}
td.num,th.num{text-align:right} .totals td{font-weight:bold} .muted{color:#666;font-size:.85em}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em} dt{font-weight:bold}
@media print{body{margin:0} button{display:none}}
"""


def quote_html(quote: dict, lang: str = "zh", compared: list[dict] | None = None, whatif: dict | None = None,
               application: dict | None = None, issued: dt.date | None = None) -> str:
    """A self-contained printable page of one quote (and, given, the same application under other rules, its
    what-if, and the application for the customer and site)."""
    words = labels(lang)
    esc = html.escape
    rows = _document(quote, application, words, issued or dt.date.today()) + _figures(quote, words)
    out = [f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
           f'<title>{esc(words["title"])} {esc(quote_number(quote))}</title><style>{PRINT_CSS}</style></head><body>',
           f'<h1>{esc(words["title"])}</h1>',
           '<dl>' + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in rows) + "</dl>",
           f'<h2>{esc(words["split"])}</h2>', split_svg(quote["totals"], words),
           f'<table class="totals"><tr><td>{esc(words["customer"])}</td><td class="num">{cny(quote["totals"]["customer_cny"])}</td>'
           f'<td>{esc(words["grid"])}</td><td class="num">{cny(quote["totals"]["grid_cny"])}</td>'
           f'<td>{esc(words["total"])}</td><td class="num">{cny(quote["totals"]["total_cny"])} {esc(words["cny"])}</td></tr></table>',
           f'<h2>{esc(words["lines"])}</h2><table><tr>']
    heads = [("component", ""), ("std_type", ""), ("quantity", "num"), ("unit", ""), ("unit_cost", "num"), ("amount", "num"),
             ("paid_by", ""), ("rule", "")]
    out.append("".join(f'<th class="{cls}">{esc(words[key])}</th>' for key, cls in heads) + "</tr>")
    for zone, lines in lines_by_zone(quote):
        out.append(f'<tr><th colspan="{len(heads)}">{esc(words.get("zone_" + zone, zone))}</th></tr>')
        for line in lines:
            flag = " *" if line["placeholder"] else (" ~" if line["indicative"] else "")
            out.append(
                f'<tr><td>{esc(in_language(line, "component", words))}</td><td>{esc(line["std_type"] or "")}</td><td class="num">{line["quantity"]:g}</td>'
                f'<td>{esc(unit_label(line["unit"], words))}</td><td class="num">{price(line["unit_cost_cny"], words)}</td><td class="num">{price(line["amount_cny"], words)}{flag}</td>'
                f'<td>{esc(words["p_" + line["funded_by"]])}</td><td>{esc(line["rule_id"])}</td></tr>')
    out.append(f'</table><p class="muted">{esc(words["legend"])}</p>')
    out.append(f'<h2>{esc(words["why"])}</h2><ol>' + "".join(f"<li>{esc(s)}</li>" for s in trace_sentences(quote, words)) + "</ol>")
    if compared:
        header, rows = _comparison_rows(quote, compared, words)
        out.append(f'<h2>{esc(words["comparison"])}</h2><table><tr>' + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
        out.extend("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
        out.append("</table>")
    if whatif:
        out.append(f'<h2>{esc(words["whatif"])}</h2><ul>' + "".join(f"<li>{esc(s)}</li>" for s in whatif_sentences(whatif, words)) + "</ul>")
    if quote.get("schedule"):
        header, rows = _schedule_rows(quote["schedule"], words, lang)
        out.append(f'<h2>{esc(words["schedule"])}</h2><p>{esc(schedule_summary(quote["schedule"], words))}</p><table><tr>'
                   + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
        out.extend("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
        out.append("</table>")
        if quote["schedule"]["warnings"]:
            out.append(f'<p class="muted">{esc(words["warnings"])}: ' + "; ".join(esc(w) for w in in_language(quote["schedule"], "warnings", words)) + "</p>")
    out.append(f'<h2>{esc(words["provenance"])}</h2><p class="muted">{esc(_provenance_text(quote))}</p>')
    if quote["warnings"]:
        out.append(f'<p class="muted">{esc(words["warnings"])}: ' + "; ".join(esc(w) for w in in_language(quote, "warnings", words))
                   + f' (~ {esc(words["indicative"])}, * {esc(words["placeholder"])})</p>')
    out.append("</body></html>")
    return "".join(out)


# Without a CJK font the PDF falls back to a core font (Latin-1 only): common CJK punctuation becomes its
# ASCII look-alike and any other non-Latin-1 run becomes "[...]".
_ASCII_LOOKALIKES = str.maketrans({"《": '"', "》": '"', "“": '"', "”": '"', "（": "(", "）": ")", "，": ",", "：": ":",
                                   "、": ",", "。": ".", "〔": "[", "〕": "]", "≤": "<=", "≥": ">=", "←": "<-", "—": "-", "–": "-", "…": "..."})


def latin1(text: str) -> str:
    out, hidden = [], False
    for char in text.translate(_ASCII_LOOKALIKES):
        if ord(char) < 256:
            out.append(char)
            hidden = False
        elif not hidden:
            out.append("[...]")
            hidden = True
    return "".join(out)


def quote_pdf(quote: dict, lang: str = "zh", compared: list[dict] | None = None, whatif: dict | None = None,
              application: dict | None = None, issued: dt.date | None = None) -> bytes:
    """The quote as a PDF; English labels and Latin-1 text when no CJK font is installed."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    font = find_cjk_font()
    if font is None:
        lang, clean, family = "en", latin1, "Helvetica"
    else:
        clean, family = (lambda text: text), "cjk"
    words = labels(lang)
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=15)
    if font is not None:
        pdf.add_font(family, "", str(font), collection_font_number=0)
    pdf.add_page()
    pdf.set_font(family, size=16)
    pdf.cell(0, 10, clean(words["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=9)
    if font is None:
        pdf.multi_cell(0, 5, "Chinese text omitted: no CJK font installed (apt-get install fonts-wqy-microhei).",
                       new_x="LMARGIN", new_y="NEXT")
    for key, value in _document(quote, application, words, issued or dt.date.today()) + _figures(quote, words):
        pdf.multi_cell(0, 5, clean(f"{key}: {value}"), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    totals = quote["totals"]
    pdf.set_font(family, size=11)
    pdf.multi_cell(0, 6, clean(f'{words["customer"]}: {cny(totals["customer_cny"])} {words["cny"]}    '
                               f'{words["grid"]}: {cny(totals["grid_cny"])} {words["cny"]}    '
                               f'{words["total"]}: {cny(totals["total_cny"])} {words["cny"]}'), new_x="LMARGIN", new_y="NEXT")
    _pdf_split_bar(pdf, totals)
    pdf.set_font(family, size=8)
    _pdf_heading(pdf, family, clean(words["lines"]))
    header = [words[k] for k in ("component", "std_type", "quantity", "unit", "unit_cost", "amount", "paid_by")]
    with pdf.table(col_widths=(58, 30, 12, 14, 22, 22, 22), text_align=("LEFT", "LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT", "LEFT"),
                   headings_style=FontFace(emphasis=None, fill_color=(230, 230, 230)), line_height=4.5) as table:
        table.row([clean(h) for h in header])
        for zone, lines in lines_by_zone(quote):
            table.row().cell(clean(words.get("zone_" + zone, zone)), colspan=len(header), style=FontFace(fill_color=(245, 245, 245)))
            for line in lines:
                flag = " *" if line["placeholder"] else (" ~" if line["indicative"] else "")
                table.row([clean(in_language(line, "component", words)), line["std_type"] or "", f'{line["quantity"]:g}', clean(unit_label(line["unit"], words)),
                           price(line["unit_cost_cny"], words), price(line["amount_cny"], words) + flag, clean(words["p_" + line["funded_by"]])])
    pdf.multi_cell(0, 4.5, clean(words["legend"]), align="L", new_x="LMARGIN", new_y="NEXT")
    _pdf_heading(pdf, family, clean(words["why"]))
    for number, sentence in enumerate(trace_sentences(quote, words), start=1):
        pdf.multi_cell(0, 4.5, clean(f"{number}. {sentence}"), align="L", new_x="LMARGIN", new_y="NEXT")  # justified, long cites stretch the spaces
    if compared:
        _pdf_heading(pdf, family, clean(words["comparison"]))
        header, rows = _comparison_rows(quote, compared, words)
        with pdf.table(line_height=4.5, headings_style=FontFace(emphasis=None, fill_color=(230, 230, 230))) as table:
            for row in [header, *rows]:
                table.row([clean(cell) for cell in row])
    if whatif:
        _pdf_heading(pdf, family, clean(words["whatif"]))
        for sentence in whatif_sentences(whatif, words):
            pdf.multi_cell(0, 4.5, clean(f"- {sentence}"), align="L", new_x="LMARGIN", new_y="NEXT")
    if quote.get("schedule"):
        _pdf_heading(pdf, family, clean(words["schedule"]))
        pdf.multi_cell(0, 4.5, clean(schedule_summary(quote["schedule"], words)), align="L", new_x="LMARGIN", new_y="NEXT")
        header, rows = _schedule_rows(quote["schedule"], words, lang)
        rows = [[cell.replace("●", "*") for cell in row] for row in rows]
        with pdf.table(line_height=4.5, headings_style=FontFace(emphasis=None, fill_color=(230, 230, 230))) as table:
            for row in [header, *rows]:
                table.row([clean(cell) for cell in row])
        for warning in in_language(quote["schedule"], "warnings", words):
            pdf.multi_cell(0, 4.5, clean(f'{words["warnings"]}: {warning}'), align="L", new_x="LMARGIN", new_y="NEXT")
    _pdf_heading(pdf, family, clean(words["provenance"]))
    pdf.multi_cell(0, 4.5, clean(_provenance_text(quote)), align="L", new_x="LMARGIN", new_y="NEXT")
    for warning in in_language(quote, "warnings", words):
        pdf.multi_cell(0, 4.5, clean(f'{words["warnings"]}: {warning}'), align="L", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _pdf_heading(pdf, family: str, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(family, size=11)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, size=8)


def _pdf_split_bar(pdf, totals: dict) -> None:
    width = pdf.epw
    customer_w = width * totals["customer_cny"] / totals["total_cny"] if totals["total_cny"] else 0
    y = pdf.get_y() + 1
    pdf.set_fill_color(192, 80, 77)
    if customer_w:
        pdf.rect(pdf.l_margin, y, customer_w, 6, style="F")
    pdf.set_fill_color(79, 129, 189)
    if width - customer_w and totals["total_cny"]:
        pdf.rect(pdf.l_margin + customer_w, y, width - customer_w, 6, style="F")
    pdf.set_fill_color(255, 255, 255)  # else the tables drawn after the bar take its last colour
    pdf.set_y(y + 8)
