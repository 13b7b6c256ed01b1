"""POST /optimize and GET /networks: the cheapest extension of a network, a shipped example or uploaded CSV tables,
through the same call as `costmodel optimize DIR` (`optimize_network`), with who pays and the map as inline SVG."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import tempfile
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import numpy as np
import pandas as pd
from starlette.concurrency import run_in_threadpool

from costmodel.api.guard import INTERNAL_ERROR, problem
from costmodel.errors import CostmodelError, InputError
from costmodel.messages import in_chinese
from costmodel.paths import EXAMPLES_DIR
from costmodel.web import report
from costmodel.web.svg import inline_svg

# The tables of a network folder, as `costmodel optimize DIR` reads them; `applications` is optional (who pays).
NETWORK_TABLES = ("nodes", "corridors", "customers")
OPTIONAL_TABLES = ("applications",)
UPLOADED = "uploaded network"   # the answer's name of a network sent as tables
MAP_LANGUAGES = ("zh", "en")   # the page's languages: the map comes in each, so switching needs no new solve
MAP_TEXT_PREFIX = "map_"   # labels.json keys of the map's words (grid.plot.MAP_TEXTS' keys after the prefix)
# One optimisation at a time: HiGHS (through Pyomo) and `stdout_to_stderr` redirect the process's file descriptors 1
# and 2 while they run, and the map sets pyplot's global settings; two threads at once would tangle both. A second
# request waits for the first.
_SOLVE_LOCK = threading.Lock()
log = logging.getLogger(__name__)


def example_networks() -> dict[str, Path]:
    """The shipped example networks: each folder of examples/ with nodes.csv, corridors.csv and customers.csv."""
    return {folder.name: folder for folder in sorted(EXAMPLES_DIR.iterdir())
            if folder.is_dir() and all((folder / f"{table}.csv").is_file() for table in NETWORK_TABLES)}


def network_listing() -> list[dict]:
    """GET /networks: each example's name, its size, and whether it has applications (so the design is quoted)."""
    listing = []
    for name, folder in example_networks().items():
        counts = {table: len(pd.read_csv(folder / f"{table}.csv")) for table in NETWORK_TABLES}
        listing.append({"name": name, "nodes": counts["nodes"], "corridors": counts["corridors"], "customers": counts["customers"],
                        "has_applications": (folder / "applications.csv").is_file()})
    return listing


def optimise(example: str | None, tables: dict[str, str | None] | None, ruleset: str, time_limit_s: float, mip_gap: float,
             ac_rounds: int, formulation: str, on_progress: Callable[[dict], None] | None = None) -> dict:
    """The answer to POST /optimize (CPU-bound: the caller runs it in a worker thread). An uploaded network is written
    to a temporary folder as the CSV files the CLI reads, so both go through one path; a message about a file names
    the request's field instead of the temporary path. `on_progress`: as `optimize_network`'s, from the solver's
    thread."""
    with tempfile.TemporaryDirectory(prefix="costmodel-network-") as scratch:
        folder = example_networks()[example] if example else _write_tables(tables, Path(scratch))
        try:
            with _SOLVE_LOCK:
                return _optimised(folder, example, ruleset, time_limit_s, mip_gap, ac_rounds, formulation, on_progress)
        except CostmodelError as error:
            if example:
                raise
            raise TableError(*_named(str(error), Path(scratch))) from None


async def optimise_streamed(*args) -> AsyncIterator[str]:
    """POST /optimize/stream: `optimise(*args)` as NDJSON lines, one {"progress": {seconds, incumbent_cny, bound_cny,
    gap}} each time the solver reports (at most every `radial.solver.PROGRESS_EVERY_S`), then one {"answer": ...} (as
    POST /optimize's) or {"error": Problem, "status": 422 or 500}: once the first line is sent, the HTTP status can no
    longer say it. The solver reports from its own thread (HiGHS' callback), so lines reach the event loop through
    `call_soon_threadsafe`."""
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue = asyncio.Queue()

    def progress(sample: dict) -> None:
        loop.call_soon_threadsafe(lines.put_nowait, {"progress": json_ready(sample)})

    def work() -> dict:
        try:
            return {"answer": optimise(*args, on_progress=progress)}
        except CostmodelError as error:
            return {"error": problem(str(error), getattr(error, "field", None)), "status": 422}
        except Exception:
            log.exception("POST /optimize/stream")
            return {"error": problem(INTERNAL_ERROR), "status": 500}

    solving = asyncio.ensure_future(run_in_threadpool(work))
    solving.add_done_callback(lambda _: lines.put_nowait(None))   # after every progress line already queued
    while (line := await lines.get()) is not None:
        yield json.dumps(line, ensure_ascii=False) + "\n"
    yield json.dumps(solving.result(), ensure_ascii=False) + "\n"


class TableError(InputError):
    """Bad input in an uploaded table: `field` names the request's field (network.nodes, ...)."""

    def __init__(self, message: str, field: str | None):
        super().__init__(message)
        self.field = field


def _write_tables(tables: dict[str, str | None], folder: Path) -> Path:
    for table, text in tables.items():
        if text is not None:
            (folder / f"{table}.csv").write_text(text, encoding="utf-8")
    return folder


def _named(message: str, folder: Path) -> tuple[str, str | None]:
    """'/tmp/x/nodes.csv line 4 ...' -> 'network.nodes (CSV) line 4 ...', and the field first named (network.nodes)."""
    named = [table for table in NETWORK_TABLES + OPTIONAL_TABLES if str(folder / f"{table}.csv") in message]
    first = min(named, key=lambda table: message.find(str(folder / f"{table}.csv")), default=None)
    for table in named:
        message = message.replace(str(folder / f"{table}.csv"), f"network.{table} (CSV)")
    return message.replace(str(folder), "network"), f"network.{first}" if first else None


def _optimised(folder: Path, example: str | None, ruleset_id: str, time_limit_s: float, mip_gap: float, ac_rounds: int,
               formulation: str, on_progress: Callable[[dict], None] | None) -> dict:
    from costmodel.fonts import matplotlib_cjk_family
    from costmodel.grid.cli_network import load_network_applications, optimize_network
    from costmodel.grid.plot import design_svg
    from costmodel.grid.status import stdout_to_stderr
    from costmodel.params import load_ruleset
    from costmodel.quote import quote_frame

    portfolio, when = None, None
    if (folder / "applications.csv").is_file():   # without them the design is not quoted
        portfolio, when = load_network_applications(folder / "applications.csv")
    with stdout_to_stderr():   # the solver's banner and log never reach the server's stdout
        result = optimize_network(folder, folder / "customers.csv", ruleset_id, time_limit_s, mip_gap, None, when,
                                  formulation, on_progress, ac_rounds)
    design, components = result["design"], result["components"]
    quote = None
    if portfolio is not None and len(components):
        batch = quote_frame(portfolio.frame, load_ruleset(ruleset_id), components=components)
        quote = {"totals": records(batch.summary()), "lines": records(batch.lines)}
    map_svg = None
    if result["has_design"]:   # a design to draw, in each language
        network = result["network"]
        map_svg = {}
        for lang in MAP_LANGUAGES:
            texts = map_texts(lang)
            name = example or texts["uploaded_network"]
            svg = design_svg(network, design, f"{name}: {ruleset_id}", texts, matplotlib_cjk_family() if lang == "zh" else None)
            map_svg[lang] = inline_svg(svg, "network-map", texts["title"].format(name=name, ruleset=ruleset_id))
    validation = json_ready(result["validation"])
    for key in ("violations", "pre_existing"):   # the page's Chinese, as the diagnosis's below
        validation[f"{key}_zh"] = [in_chinese(text) for text in result["validation"].get(key, [])]
    report = json_ready(result["report"])
    report["diagnosis_zh"] = [in_chinese(text) for text in result["report"].get("diagnosis", [])]
    return {"network": example or UPLOADED, "ruleset": ruleset_id, "report": report,
            "validation": validation, "corridors": records(design.corridors),
            "transformers": records(design.transformers), "customers": records(design.customers),
            "components": records(components), "quote": quote, "map_svg": map_svg}


@lru_cache(maxsize=2)
def map_texts(lang: str) -> dict[str, str]:
    """The map's words in the page's language, from the page's own labels (labels.json, keys map_*)."""
    labels = json.loads((report.STATIC_DIR / "labels.json").read_text(encoding="utf-8"))[lang]
    return {key.removeprefix(MAP_TEXT_PREFIX): text for key, text in labels.items() if key.startswith(MAP_TEXT_PREFIX)}


def records(frame: pd.DataFrame) -> list[dict]:
    """A frame's rows as JSON objects (missing values as null)."""
    return json_ready(frame.astype(object).where(frame.notna(), None).to_dict("records"))


def json_ready(value: Any) -> Any:
    """numpy scalars as Python ones, NaN and infinities as null (JSON has neither), recursively."""
    if isinstance(value, dict):
        return {str(key): json_ready(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
