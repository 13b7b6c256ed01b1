"""Gantt chart of one application's schedule, critical path highlighted (PNG or SVG by suffix)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from costmodel import files  # noqa: E402
from costmodel.errors import InputError  # noqa: E402
from costmodel.fonts import matplotlib_cjk_family  # noqa: E402

FORMATS = (".png", ".svg")


def cjk_font() -> str | None:
    """The CJK font's family for the Chinese stage names, found by file path (costmodel.fonts)."""
    return matplotlib_cjk_family()


def plot_gantt(stages_frame, application_id: str, path) -> Path:
    """Draw the stages of one application (from schedule_applications) to path; returns the path."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise InputError(f"path: {str(path)!r} must end in one of {', '.join(FORMATS)}")
    rows = stages_frame[stages_frame["application_id"] == str(application_id)]
    if rows.empty:
        known = ", ".join(map(str, stages_frame["application_id"].unique()[:5]))
        raise InputError(f"application_id: {application_id!r} is not in the stages frame; e.g. {known}")
    rows = rows.sort_values(["start_date", "due_date"], kind="stable").iloc[::-1]
    font = cjk_font()
    if font:
        plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        labels = [f"{zh} / {en}" for zh, en in zip(rows["name_zh"], rows["name_en"])]
    else:
        labels = list(rows["name_en"].astype(str))
    start = mdates.date2num(rows["start_date"])
    # A stage occupies its due date entirely: the bar runs to the end of that day.
    width = mdates.date2num(rows["due_date"]) + 1 - start
    critical = rows["on_critical_path"].to_numpy()
    colors = ["#c0392b" if c else "#7f8c8d" for c in critical]

    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) + 1.6))
    ax.barh(range(len(rows)), width, left=start, color=colors, height=0.6)
    for y, (s, w, days) in enumerate(zip(start, width, rows["working_days"])):
        ax.text(s + w + 0.3, y, f"{days} wd", va="center", fontsize=8)
    ax.set_yticks(range(len(rows)), labels, fontsize=8)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))
    fig.autofmt_xdate()
    first = rows.iloc[0]
    ax.set_title(f"{application_id}: {first['ruleset_id']}, {first['supply_voltage']} (wd = working days)", fontsize=10)
    ax.legend(
        handles=[Patch(color="#c0392b", label="critical path"), Patch(color="#7f8c8d", label="has slack")],
        loc="upper right", fontsize=8,
    )
    ax.grid(axis="x", alpha=0.3)
    ax.margins(x=0.06)
    fig.tight_layout()
    try:
        files.save_figure(fig, path)
    finally:
        plt.close(fig)
    return path
