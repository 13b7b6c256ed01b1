"""A quote as people read it: the quote page's result, a printable HTML page and a PDF, in Chinese or English.

All three come from one layout, templates/quote.html.j2, filled from a quote as the API returns it (a JSON-ready
dict); the PDF is that HTML drawn by fpdf2. Labels come from static/labels.json, shared with the page's form.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from fpdf import FPDF
from fpdf.fonts import TextStyle
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from costmodel.schedule.calendar import calendar_for
from costmodel.fonts import find_cjk_font  # the PDF's font, found by path (tests patch it here)
from costmodel.quote import ZONE_ORDER, line_mark  # one order of zones and one mark per line for every renderer
from costmodel.web import charts
from costmodel.web.charts import cny  # one money format for the layout and its charts

STATIC_DIR = Path(__file__).parent / "static"
LANGUAGES = ("zh", "en")
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
        if step.get("layer_id"):
            sentence += " " + words["trace_layer"].format(layer=step["layer_id"], kind=words["layer_" + step["layer_kind"]])
        if step.get("other_layer_id"):
            sentence += " " + words["trace_other_layer"].format(
                other=step["other_layer_id"], kind=words["layer_" + step["other_layer_kind"]], rule=step["other_rule_id"],
                outcome=outcome_label(words, step["decision"], step["other_outcome"]))
        sentences.append(sentence)
    return sentences


def lines_by_zone(quote: dict) -> list[tuple[str, list[dict]]]:
    zones = [zone for zone in ZONE_ORDER if any(line["zone"] == zone for line in quote["lines"])]
    zones += sorted({line["zone"] for line in quote["lines"]} - set(zones))
    return [(zone, [line for line in quote["lines"] if line["zone"] == zone]) for zone in zones]


def price(value: float | None, words: dict[str, str]) -> str:
    """A line's unit cost or amount; None where no sourced unit cost exists (never shown as 0)."""
    return words["not_priced"] if value is None else cny(value)


def _side_text(side: dict, words: dict[str, str]) -> str:
    if side["rejected"]:
        return in_language(side, "rejected", words)
    return (f'{outcome_label(words, "supply_voltage", side["supply_voltage"])}, '
            f'{outcome_label(words, "investment_boundary", side["boundary"])}, {words["whatif_customer"]} {cny(side["customer_cny"])} '
            f'{words["cny"]}, {side["working_days"]} {words["whatif_days"]}')


def _cliff(cliff: dict, words: dict[str, str]) -> dict:
    """One threshold that changes the quote: both sides, what sets it, and which side the request is on."""
    return {"below_label": cliff["below_label"], "below": _side_text(cliff["below"], words),
            "above_label": cliff["above_label"], "above": _side_text(cliff["above"], words),
            "note": f'{", ".join(cliff["parameters"])} ({", ".join(cliff["layers"])}) · {words["your_request"]}: '
                    f'{cliff["below_label"] if cliff["current_side"] == "below" else cliff["above_label"]}'}


def _alternative_sentences(whatif: dict, words: dict[str, str]) -> list[str]:
    """Each size class, park level or listing that would change the quote, and what it would give."""
    sentences = []
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


def printable(application, ruleset, compare_with=None, range_model=None, price_level: str | None = None) -> dict:
    """What a printed quote shows, as the page and `costmodel quote --pdf` both print it: the quote (with its budget
    range when a range model is given), the same application under `compare_with` (a rule set, or None), its what-if
    and the application itself."""
    from costmodel.quote import quote_application
    from costmodel.whatif import whatif_batch

    levels = {} if price_level is None else {"price_level": price_level}  # else the quote's default
    batch, quoted, whatif = whatif_batch(application, ruleset, **levels)
    if range_model is not None:
        from costmodel.ranges.attach import budget_ranges

        quoted = budget_ranges(range_model, batch, [quoted])[0]
    compared = [] if compare_with is None else [quote_application(application, compare_with, **levels).model_dump(mode="json")]
    return {"quote": quoted.model_dump(mode="json"), "compared": compared, "whatif": whatif.model_dump(mode="json"),
            "application": application.model_dump(mode="json")}


def quote_number(quote: dict) -> str:
    """The same application quoted under the same rules on the same date has the same number."""
    provenance = quote["provenance"]
    return f'{quote["application_id"]}-{str(provenance["evaluation_date"]).replace("-", "")}-{provenance["ruleset_content_hash"][:6]}'


def _document(quote: dict, application: dict | None, words: dict[str, str], issued: dt.date) -> list[tuple[str, str]]:
    """What makes a quote fit to send: its number, issue date, validity (with the clause), customer and site."""
    rows = [(words["quote_number"], quote_number(quote)), (words["issued"], issued.isoformat())]
    level = quote.get("price_level")
    if level:
        moved = (words["price_level_moved"].format(year=level["catalogue_price_year"], index=level["index"], factor=f'{level["factor"]:.4f}')
                 if level["index"] and level["price_year"] != level["catalogue_price_year"] else words["price_level_catalogue"])
        rows.append((words["price_level"], f'{level["price_year"]} ({moved})'))
    validity = quote.get("validity")
    if validity:
        until = (pd.Timestamp(issued) + pd.DateOffset(months=validity["months"])).date()
        rows.append((words["valid_until"], f'{until.isoformat()} ({words["valid_months"].format(months=validity["months"])}; '
                                           f'{validity["cites"]})'))
    if application:
        applicant, site = application["applicant"], application["site"]
        enterprise = applicant.get("enterprise") or {}
        who = [words.get(f'kind_{applicant["kind"]}', applicant["kind"]), _industry_name(enterprise.get("industry"), words),
               outcome_label(words, "enterprise_size", quote["enterprise_size"])]
        where = words["site_text"].format(area=words.get(f'area_{site["area"]}', site["area"]),
                                          park=words.get(f'park_{site["park_level"]}', site["park_level"]),
                                          lv=_known(site["distance_to_lv_m"], words), mv=_known(site["distance_to_10kv_m"], words))
        rows.append((words["customer_site"], f'{application["id"]}: {", ".join(w for w in who if w)}; {where}'))
    return rows


def _industry_name(industry: str | None, words: dict[str, str]) -> str | None:
    """The industry as the size table names it in Chinese (its key in English)."""
    if industry is None or words["code"] != "zh":
        return industry
    from costmodel.classification import industry_rows

    return industry_rows()["name_zh"].get(industry, industry)  # the size table, read once per tariffs root


def _known(value, words: dict[str, str]) -> str:
    return words["not_known"] if value is None else f"{value:g}"


def _figures(quote: dict, words: dict[str, str]) -> list[tuple[str | None, str, str]]:
    """(element id on the page, label, value) of the quote's main figures."""
    return [
        (None, words["application_id"], quote["application_id"]),
        (None, words["ruleset"], f'{quote["ruleset"]} ({in_language(quote["provenance"], "ruleset_title", words)})'),
        (None, words["capacity"], f'{quote["capacity_kva"]:,.1f} kVA ({quote["capacity_kw"]:,.1f} kW)'),
        ("enterprise-size", words["enterprise_size"], outcome_label(words, "enterprise_size", quote["enterprise_size"])),
        ("supply-voltage", words["supply_voltage"], outcome_label(words, "supply_voltage", quote["supply_voltage"])),
        ("boundary", words["boundary"], outcome_label(words, "investment_boundary", quote["boundary"])),
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
td.num,th.num{text-align:right} tr.zone th{background:#eef2f7} .totals strong{font-size:1.2em}
.totals td.customer{border-left:6px solid #c0504d} .totals td.grid{border-left:6px solid #4f81bd}
.muted{color:#666;font-size:.85em} small{color:#666}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em} dt{font-weight:bold} dd{margin:0}
svg{max-width:100%;height:auto;display:block}
.legend{display:inline-block;margin:.3em 1.5em .2em 0;font-size:.85em} .legend i{display:inline-block;width:.8em;height:.8em;margin-right:.3em}
.legend i.customer{background:#c0504d} .legend i.grid{background:#4f81bd} .legend i.slack{background:#999} .legend i.off{background:#e6e6e6;border:1px solid #ccc}
@media print{body{margin:0}}
@media (max-width:640px){body{margin:.6em} dl{grid-template-columns:1fr} dd{margin-bottom:.3em;overflow-wrap:anywhere}
  table{display:block;overflow-x:auto} li{overflow-wrap:anywhere}}
"""
TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True, trim_blocks=True,
                        lstrip_blocks=True, undefined=StrictUndefined)
TEMPLATES.filters["svg_data_uri"] = lambda svg: "data:image/svg+xml;base64," + base64.b64encode(str(svg).encode()).decode()
TARGETS = ("page", "print", "pdf")
# Each line column: its label key, CSS class and share of the PDF's width (%).
LINE_COLUMNS = (("component", "", 24), ("std_type", "", 14), ("quantity", "num", 7), ("unit", "", 8), ("unit_cost", "num", 10),
                ("amount", "num", 11), ("paid_by", "", 10), ("rule", "", 16))
PREPAYMENT_COLUMNS = (("component", "", 30), ("quantity", "num", 8), ("unit", "", 8), ("unit_cost", "num", 10), ("amount", "num", 10),
                      ("refund_condition", "", 34))
SCHEDULE_COLUMNS = (("stage", "", 46), ("start", "", 16), ("due", "", 16), ("working_days", "num", 12), ("critical_path", "", 10))
# A Gantt chart shows the schedule and, after it, room for the time limit's slack
GANTT_MARGIN_DAYS = 30


def _line_cells(line: dict, words: dict[str, str]) -> list[tuple[str, str]]:
    flag = line_mark(line["placeholder"], line["indicative"], line.get("ceiling", False))
    return [(in_language(line, "component", words), ""), (line["std_type"] or "", ""), (f'{line["quantity"]:g}', "num"),
            (unit_label(line["unit"], words), ""), (price(line["unit_cost_cny"], words), "num"),
            (price(line["amount_cny"], words) + flag, "num"), (words["p_" + line["funded_by"]], f'payer {line["funded_by"]}'),
            (line["rule_id"], "")]


def _gantt(schedule: dict, words: dict[str, str], lang: str):
    stages = schedule["stages"]
    if not stages:
        return None
    start = min(dt.date.fromisoformat(str(s["start_date"])) for s in stages)
    slack = max(0, (schedule["limit_working_days"] or 0) - schedule["total_working_days"])
    end = dt.date.fromisoformat(str(schedule["energisation_due_date"])) + dt.timedelta(days=2 * slack + GANTT_MARGIN_DAYS)
    days = calendar_for(np.array([start, end], dtype="datetime64[D]"), 0).days
    limit = schedule["limit_working_days"]
    label = "" if limit is None else words["gantt_target" if schedule.get("limit_basis") == "average" else "gantt_limit"].replace("{limit}", str(limit))
    names = [s["name_zh"] if lang == "zh" else s["name_en"] for s in stages]
    return charts.gantt(schedule, days[(days >= np.datetime64(start)) & (days <= np.datetime64(end))], names, words["schedule"], label,
                        words["whatif_days"])


def _schedule(schedule: dict, words: dict[str, str], lang: str) -> dict:
    warnings = in_language(schedule, "warnings", words)
    return {"summary": schedule_summary(schedule, words), "gantt": _gantt(schedule, words, lang),
            "columns": [(words[key], css, share) for key, css, share in SCHEDULE_COLUMNS],
            "rows": [{"name": s["name_zh"] if lang == "zh" else s["name_en"], "start": s["start_date"], "due": s["due_date"],
                      "working_days": s["working_days"], "critical": s["on_critical_path"]} for s in schedule["stages"]],
            "warnings": f'{words["warnings"]}: ' + "; ".join(warnings) if warnings else ""}


def _budget_range(budget_range: dict, words: dict[str, str]) -> dict:
    """A quote's range from the utility's history: each party's low, median and high, and where they come from."""
    source = budget_range["source"]
    return {"levels": [f"P{round(level * 100)}" for level in budget_range["quantiles"]],
            "rows": [(words[label], [cny(budget_range[party][f"{kind}_cny"]) for kind in ("low", "median", "high")])
                     for party, label in (("total", "total"), ("customer", "customer"), ("grid", "grid"))],
            "source": words["range_source"].format(rows=f'{source["rows"]:,}', start=source["window_start"], end=source["window_end"],
                                                   group=source["group"], group_rows=f'{source["group_rows"]:,}',
                                                   method=in_language(source, "method_text", words), model=source["model_id"]),
            "warnings": "; ".join(in_language(budget_range, "warnings", words))}


def layout_context(quote: dict, lang: str = "zh", compared: list[dict] | None = None, whatif: dict | None = None,
                   application: dict | None = None, issued: dt.date | None = None, target: str = "print") -> dict:
    """Everything the quote template shows, in the language's words: the one source of the page, the printable page
    and the PDF."""
    if target not in TARGETS:
        raise ValueError(f"target: {target!r}; allowed: {', '.join(TARGETS)}")
    words = labels(lang)
    totals = quote["totals"]
    trace = [{"sentence": sentence, "details": [f'{words["read"]}: {p}' for p in step["parameters"]]
              + [f'{words["tested"]}: {c}' for c in step["conditions"]]}
             for sentence, step in zip(trace_sentences(quote, words), quote["trace"])]
    comparison = None
    if compared:
        header, rows = _comparison_rows(quote, compared, words)
        comparison = {"header": header, "rows": rows,
                      "bars": [(q["ruleset"], charts.split_bar(q["totals"], words["split"])) for q in [*compared, quote]]}
    return {
        "target": target, "w": words, "html_lang": "zh-CN" if words["code"] == "zh" else "en", "print_css": Markup(PRINT_CSS),
        "number": quote_number(quote),
        "document_rows": [(None, label, value) for label, value in _document(quote, application, words, issued or dt.date.today())],
        "figures": _figures(quote, words),
        "totals": {key: cny(totals[f"{key}_cny"]) for key in ("customer", "grid", "total")},
        "budget_range": _budget_range(quote["budget_range"], words) if quote.get("budget_range") else None,
        "placeholder_share": (words["placeholder_share"].format(customer=cny(totals["customer_placeholder_cny"]),
                                                                grid=cny(totals["grid_placeholder_cny"]), total=cny(totals["total_placeholder_cny"]))
                              if totals.get("total_placeholder_cny") else ""),
        "prepayments": [{"component": in_language(item, "component", words), "quantity": f'{item["quantity"]:g}',
                         "unit": unit_label(item["unit"], words), "rate": cny(item["rate_cny"]),
                         "amount": cny(item["amount_cny"]) + line_mark(item["placeholder"], False),
                         "refund": item["refund_condition"]} for item in quote.get("prepayments", [])],
        "prepayment_columns": [(words[key], css, share) for key, css, share in PREPAYMENT_COLUMNS],
        "split": charts.split_bar(totals, words["split"]),
        "colours": {"customer": charts.CUSTOMER_COLOUR, "grid": charts.GRID_COLOUR, "slack": charts.SLACK_COLOUR,
                    "day_off": charts.DAY_OFF_COLOUR},
        "line_columns": [(words[key], css, share) for key, css, share in LINE_COLUMNS],
        "zones": [{"name": words.get("zone_" + zone, zone), "subtotal": cny(sum(line["amount_cny"] or 0 for line in lines)),
                   "lines": [_line_cells(line, words) for line in lines]} for zone, lines in lines_by_zone(quote)],
        "trace": trace,
        "whatif": None if not whatif else {
            "chart": charts.whatif_curve(whatif, words["whatif_chart"], words["your_request"]),
            "cliffs": [_cliff(cliff, words) for cliff in whatif["cliffs"]],
            "alternatives": _alternative_sentences(whatif, words)},
        "schedule": _schedule(quote["schedule"], words, lang) if quote.get("schedule") else None,
        "comparison": comparison,
        "provenance": _provenance_text(quote),
        "warnings": ("; ".join(in_language(quote, "warnings", words))
                     + f' (~ {words["indicative"]}, ^ {words["ceiling"]}, * {words["placeholder"]})' if quote["warnings"] else ""),
    }


def render(quote: dict, lang: str = "zh", target: str = "print", **parts) -> str:
    """The quote in the one layout, for `target`: "page" (the quote page's result), "print" or "pdf"."""
    return TEMPLATES.get_template("quote.html.j2").render(layout_context(quote, lang, target=target, **parts))


def quote_html(quote: dict, lang: str = "zh", **parts) -> str:
    """A self-contained printable page of one quote (and, given, the same application under other rules, its
    what-if, and the application for the customer and site)."""
    return render(quote, lang, "print", **parts)


# Without a CJK font the PDF falls back to a core font (Latin-1 only): common CJK punctuation becomes its
# ASCII look-alike and any other non-Latin-1 run becomes "[...]".
_ASCII_LOOKALIKES = str.maketrans({"《": '"', "》": '"', "“": '"', "”": '"', "（": "(", "）": ")", "，": ",", "：": ":",
                                   "、": ",", "。": ".", "〔": "[", "〕": "]", "≤": "<=", "≥": ">=", "←": "<-", "—": "-", "–": "-", "…": "...",
                                   "●": "*", "■": "#", "→": "->"})


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


class _QuotePDF(FPDF):
    """fpdf2 draws the layout's charts from the SVG it is given inline (as a data URI), without the tooltips (fpdf2
    has no <title>) and, without a CJK font, with the text cut to Latin-1 as the rest of the PDF."""

    def __init__(self, clean, **kwargs):
        super().__init__(**kwargs)
        self.clean = clean

    def image(self, name, *args, **kwargs):
        if isinstance(name, str) and name.startswith("data:image/svg+xml;base64,"):
            svg = base64.b64decode(name.split(",", 1)[1]).decode()
            name = self.clean(re.sub(r"<title>.*?</title>", "", svg)).encode()
        return super().image(name, *args, **kwargs)


def quote_pdf(quote: dict, lang: str = "zh", **parts) -> bytes:
    """The quote as a PDF, drawn from the printable page's layout; English labels and Latin-1 text when no CJK font is
    installed."""
    font = find_cjk_font()
    pdf = _QuotePDF(latin1 if font is None else str, orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=15)
    if font is None:
        lang, family = "en", "helvetica"
    else:
        family = "cjk"  # the name the charts' SVG text asks for
        for style in ("", "B", "I", "BI"):  # one face: <b> and <th> are drawn in it too
            pdf.add_font(family, style, str(font), collection_font_number=0)
    pdf.add_page()
    pdf.set_font(family, size=8)
    html = render(quote, lang, "pdf", **parts)
    if font is None:
        html = "<p>Chinese text omitted: no CJK font installed (apt-get install fonts-wqy-microhei).</p>" + latin1(html)
    heading = {"h1": TextStyle(font_size_pt=16, color="#1f4e79", b_margin=2), "h2": TextStyle(font_size_pt=11, color="#1f4e79", t_margin=4, b_margin=1)}
    pdf.write_html(html, font_family=family, tag_styles=heading, li_prefix_color="#222222")
    return bytes(pdf.output())
