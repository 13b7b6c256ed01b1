"""The quote's charts as SVG, drawn once for the page, the printable page and the PDF (fpdf2 draws the same SVG).

Colours, not CSS classes, carry the meaning: the PDF has no style sheet. Every text element names the font family
"cjk" first, the name the PDF registers its CJK font under; browsers skip it and use the next family.
"""

from __future__ import annotations

import datetime as dt
from html import escape as esc

import numpy as np
from markupsafe import Markup

CUSTOMER_COLOUR = "#c0504d"
GRID_COLOUR = "#4f81bd"
SLACK_COLOUR = "#999999"
DAY_OFF_COLOUR = "#e6e6e6"
TARGET_COLOUR = "#1f4e79"
FONT = 'font-family="cjk, Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif"'
LABEL_CHARS = 24  # a stage name longer than this is cut (whole in its tooltip and in the table below)


def _svg(css_class: str, title: str, width: int, height: int, body: str) -> Markup:
    return Markup(f'<svg class="{css_class}" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>{body}</svg>')


def cny(value: float) -> str:
    return f"{value:,.0f}"


def split_bar(totals: dict, title: str, width: int = 560) -> Markup:
    """Customer against grid company as one stacked bar (its legend is text beside it, readable on a phone)."""
    total = totals["total_cny"]
    customer_w = round(width * totals["customer_cny"] / total) if total else 0
    grid_w = width - customer_w if total else 0
    return _svg("split", title, width, 28,
                f'<rect x="0" y="0" width="{width}" height="28" fill="#eeeeee"/>'
                f'<rect x="0" y="0" width="{customer_w}" height="28" fill="{CUSTOMER_COLOUR}"/>'
                f'<rect x="{customer_w}" y="0" width="{grid_w}" height="28" fill="{GRID_COLOUR}"/>')


def whatif_curve(whatif: dict, title: str, your_request: str, width: int = 560, height: int = 180) -> Markup:
    """Customer CNY against requested capacity: steps (a price holds until the next capacity quoted), each cap of
    the policy as a dashed line, the request as a dot. Empty when no capacity could be quoted."""
    points = [p for p in whatif["curve"] if p["customer_cny"] is not None]
    if not points:
        return Markup("")
    left, bottom, top = 64, 24, 10
    max_x = whatif["curve"][-1]["capacity"] or 1
    max_y = max(1.0, *(p["customer_cny"] for p in points))

    def x(value: float) -> float:
        return left + (width - left - 8) * value / max_x

    def y(value: float) -> float:
        return top + (height - top - bottom) * (1 - value / max_y)

    steps = " ".join(f'H{x(p["capacity"]):.1f} V{y(p["customer_cny"]):.1f}' if i else f'M{x(p["capacity"]):.1f},{y(p["customer_cny"]):.1f}'
                     for i, p in enumerate(points))
    caps = "".join(
        f'<line x1="{x(c["threshold"]):.1f}" x2="{x(c["threshold"]):.1f}" y1="{top}" y2="{height - bottom}" stroke="{CUSTOMER_COLOUR}" '
        f'stroke-dasharray="4 3"/><text {FONT} x="{x(c["threshold"]) + 3:.1f}" y="{top + 10}" font-size="11" fill="{CUSTOMER_COLOUR}">'
        f'{c["threshold"]:g} {esc(c["unit"])}</text>'
        for c in whatif["cliffs"] if c["unit"] == whatif["capacity_unit"] and c["threshold"] <= max_x)
    current = whatif["current"]["customer_cny"]
    dot = ("" if current is None else
           f'<circle cx="{x(whatif["capacity"]):.1f}" cy="{y(current):.1f}" r="4" fill="{GRID_COLOUR}"><title>{esc(your_request)}</title></circle>')
    return _svg("whatif-chart", title, width, height,
                f'<line x1="{left}" x2="{width - 8}" y1="{height - bottom}" y2="{height - bottom}" stroke="{SLACK_COLOUR}"/>'
                f'<line x1="{left}" x2="{left}" y1="{top}" y2="{height - bottom}" stroke="{SLACK_COLOUR}"/>'
                f'<text {FONT} x="{left - 4}" y="{top + 8}" font-size="11" text-anchor="end">{cny(max_y)}</text>'
                f'<text {FONT} x="{left - 4}" y="{height - bottom}" font-size="11" text-anchor="end">0</text>'
                f'<text {FONT} x="{width - 8}" y="{height - 6}" font-size="11" text-anchor="end">{cny(max_x)} {esc(whatif["capacity_unit"])}</text>'
                f'<path d="{steps}" fill="none" stroke="#333333" stroke-width="1.5"/>{caps}{dot}')


def gantt(schedule: dict, working_days: np.ndarray, names: list[str], title: str, target_label: str, days_word: str,
          width: int = 560) -> Markup:
    """The stages as bars over the days: days off shaded, the critical path red, and the time limit (or average
    target) as a dashed line where the plan would end if it took exactly that many working days.

    `working_days` (datetime64[D], sorted) must cover the schedule and, past its end, the limit's slack."""
    stages = schedule["stages"]
    if not stages:
        return Markup("")
    open_days = set(working_days.astype(str).tolist())
    ordered = working_days.astype(str).tolist()
    due = str(schedule["energisation_due_date"])
    limit = schedule["limit_working_days"]
    target = None
    if limit is not None and due in open_days:
        index = ordered.index(due) + limit - schedule["total_working_days"]
        target = ordered[index] if 0 <= index < len(ordered) else None
    first = min(dt.date.fromisoformat(str(s["start_date"])) for s in stages)
    last = max([dt.date.fromisoformat(str(s["due_date"])) for s in stages] + ([dt.date.fromisoformat(target)] if target else []))
    days = (last - first).days + 1
    left, row, top = 150, 18, 16
    height = top + row * len(stages) + 18
    day_width = (width - left - 6) / days

    def x(day: dt.date) -> float:
        return left + (day - first).days * day_width

    out = []
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        if day.isoformat() not in open_days:
            out.append(f'<rect class="off" x="{x(day):.1f}" y="{top}" width="{day_width:.1f}" height="{row * len(stages)}" '
                       f'fill="{DAY_OFF_COLOUR}"><title>{day.isoformat()}</title></rect>')
    for i, (stage, name) in enumerate(zip(stages, names)):
        top_y = top + i * row
        start, end = dt.date.fromisoformat(str(stage["start_date"])), dt.date.fromisoformat(str(stage["due_date"]))
        short = name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + "…"
        critical = stage["on_critical_path"]
        out.append(f'<text {FONT} x="{left - 4}" y="{top_y + 12}" font-size="10" text-anchor="end">{esc(short)}<title>{esc(name)}</title></text>'
                   f'<rect class="{"critical" if critical else "slack"}" x="{x(start):.1f}" y="{top_y + 3}" '
                   f'width="{x(end + dt.timedelta(days=1)) - x(start):.1f}" height="{row - 6}" fill="{CUSTOMER_COLOUR if critical else SLACK_COLOUR}">'
                   f'<title>{esc(name)}: {start} → {end}, {stage["working_days"]} {esc(days_word)}</title></rect>')
    if target:
        at = x(dt.date.fromisoformat(target) + dt.timedelta(days=1))
        out.append(f'<line class="target" x1="{at:.1f}" x2="{at:.1f}" y1="{top - 6}" y2="{top + row * len(stages)}" stroke="{TARGET_COLOUR}" '
                   f'stroke-width="2" stroke-dasharray="5 3"/><text {FONT} x="{at:.1f}" y="{top - 8}" font-size="10" text-anchor="end" '
                   f'fill="{TARGET_COLOUR}">{esc(target_label)}</text>')
    out.append(f'<text {FONT} x="{left}" y="{height - 4}" font-size="10">{first.isoformat()}</text>'
               f'<text {FONT} x="{width - 6}" y="{height - 4}" font-size="10" text-anchor="end">{last.isoformat()}</text>')
    return _svg("gantt", title, width, height, "".join(out))
