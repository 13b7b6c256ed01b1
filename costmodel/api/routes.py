"""The FastAPI app: its routes, error handlers, the offline API docs and the page; `serve` runs it."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import gc
import hashlib
import importlib.resources
import io
import os
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Iterator

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import costmodel
from costmodel.api.coalescer import QuoteCoalescer, QuoteFastPath, QuoteFault, quote_many
from costmodel.api.guard import INTERNAL_ERROR, MAX_BATCH_BYTES, MAX_STUDY_BYTES, HttpGuard, problem, spool_body
from costmodel.api.network import network_listing, optimise, optimise_streamed
from costmodel.api.schemas import (ERROR_MEANINGS, CompareRequest, Comparison, NetworkInfo, OptimizeAnswer, OptimizeRequest,
                                   ParameterValue, QuoteRequest, RuleSetInfo, comparison_of, error_item, error_responses)
from costmodel.application import FRAME_COLUMNS, Application, load_application
from costmodel.classification import load_size_table
from costmodel.errors import CostmodelError, InputError
from costmodel.params import available_rulesets, load_ruleset, resolve_ruleset
from costmodel.paths import EXAMPLES_DIR as SHIPPED_EXAMPLES
from costmodel.quote import Quote, quote_application
from costmodel.ranges import model_from_env
from costmodel.schedule.calendar import calendar_for
from costmodel.scenarios.portfolio import validate_frame
from costmodel.scenarios.study_page import run_study, study_summary, study_workbook
from costmodel.scenarios.studies import quote_portfolio
from costmodel.web import report
from costmodel.whatif import WhatIf, quote_with_whatif

EXAMPLES_DIR = SHIPPED_EXAMPLES / "applications"
# What `costmodel serve` gives uvicorn (see `serve`): idle keep-alive connections are closed after 5 s,
# at most 1000 connections are served at once (503 beyond), an incomplete request head is capped at 64 kB.
SERVER_OPTIONS = {"timeout_keep_alive": 5, "limit_concurrency": 1000, "h11_max_incomplete_event_size": 64 * 1024,
                  "timeout_graceful_shutdown": 10}
DOCS_ASSETS = "/docs-assets"
OFFLINE_DOCS_DIR = str(importlib.resources.files("fastapi_offline") / "static")
# The printable quote (/quote.html) is one self-contained page: its own inline style sheet, nothing else.
REPORT_CSP = (f"default-src 'none'; style-src 'sha256-{base64.b64encode(hashlib.sha256(report.PRINT_CSS.encode()).digest()).decode()}'; "
              "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
BATCH_COLUMNS = ["application_id", "status", "enterprise_size", "supply_voltage", "boundary", "boundary_rule",
                 "customer_cny", "grid_cny", "total_cny", "reason"]
BATCH_CHUNK_ROWS = 5000
STUDY_PATHS = frozenset({"/study", "/study.xlsx"})  # their uploads are streamed to disk (guard.spool_body)
MAX_CALENDAR_DAYS = 3 * 366  # /calendar's longest span: a schedule's, with room


def _known_ruleset(ruleset_id: str):
    if ruleset_id not in available_rulesets():
        raise HTTPException(404, f"unknown rule set {ruleset_id!r}; allowed: {', '.join(available_rulesets())}")
    return load_ruleset(ruleset_id)


def _parameter_rows(ruleset, paths: list[str]) -> list[ParameterValue]:
    rows = []
    for path in paths:
        parameter = ruleset.parameters[path]
        for index, (since, value) in enumerate(zip(parameter.dates, parameter.values)):
            reference = parameter.reference_at(index)
            rows.append(ParameterValue(
                ruleset=ruleset.id, path=path, since=since, value=value, unit=parameter.unit, breakdown=parameter.breakdown,
                description=parameter.description, source=reference.cite(), document=reference.document,
                clause=reference.clause, source_tag=reference.source, placeholder=parameter.placeholder,
            ))
    return rows


def _quote(body: QuoteRequest, range_model=None) -> Quote:
    """The quote of a request, with its budget range when the server has a range model (as /quote gives it)."""
    ruleset = resolve_ruleset(body.ruleset, body.application.application_date)
    if range_model is None:
        return quote_application(body.application, ruleset)
    quoted = quote_many([(body.application, ruleset)], range_model)[0]
    if isinstance(quoted, Exception):
        raise quoted
    return quoted


def batch_table(body: bytes, ruleset: str) -> pd.DataFrame:
    """The answer to a batch upload: quoted rows, then rejected rows with their reasons (the portfolio path)."""
    try:
        raw = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False, na_values=[""], skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"batch CSV: cannot read it ({str(error).strip()}); expected a header row with {', '.join(FRAME_COLUMNS)}") from None
    portfolio = validate_frame(raw, "batch CSV")
    dates = portfolio.frame["application_date"].dt.date.unique() if len(portfolio.frame) else []
    # One rule set for the whole file: a jurisdiction must resolve to the same rule set on every row's date.
    resolved = {resolve_ruleset(ruleset, day).id for day in dates}
    if len(resolved) > 1:
        raise InputError(f"batch: {ruleset!r} resolves to several rule sets over the application dates "
                         f"({', '.join(sorted(resolved))}); name one rule set, or split the file")
    ruleset_loaded = resolve_ruleset(ruleset, min(dates)) if len(dates) else load_ruleset(available_rulesets()[0])
    result = quote_portfolio(portfolio, ruleset_loaded)
    rejected = result.rejected.assign(status="rejected", reason="line " + (result.rejected["row"] + 1).astype(str) + ": "
                                      + result.rejected["reason"].astype(str))
    table = pd.concat([result.quotes.assign(status="quoted", reason=""), rejected], ignore_index=True)
    return table.reindex(columns=BATCH_COLUMNS)


def csv_chunks(frame: pd.DataFrame, header: bool) -> Iterator[str]:
    for start in range(0, len(frame), BATCH_CHUNK_ROWS):
        from costmodel.files import neutralise_formulas  # cells a spreadsheet would run as formulas

        chunk = neutralise_formulas(frame.iloc[start:start + BATCH_CHUNK_ROWS])
        yield chunk.to_csv(index=False, header=header and start == 0, columns=BATCH_COLUMNS, lineterminator="\n")
    if header and frame.empty:
        yield ",".join(BATCH_COLUMNS) + "\n"


class _GuardedFastAPI(FastAPI):
    """FastAPI with `HttpGuard` outside its whole stack, so even a 500 carries the security headers."""

    def build_middleware_stack(self):
        return HttpGuard(super().build_middleware_stack(),
                         route_body_bytes={"/batch": MAX_BATCH_BYTES, **{path: MAX_STUDY_BYTES for path in STUDY_PATHS}},
                         streamed_paths=STUDY_PATHS)

    def openapi(self) -> dict:
        # FastAPI documents a route's error answers in the route's media type (text/html for /quote.html);
        # they are all JSON Problems.
        if self.openapi_schema is None:
            schema = super().openapi()
            for operation in (op for path in schema["paths"].values() for op in path.values()):
                for status, response in operation.get("responses", {}).items():
                    if status.isdigit() and int(status) in ERROR_MEANINGS:
                        response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        return self.openapi_schema


@asynccontextmanager
async def _lifespan(api: FastAPI):
    # Load the tariffs with one quote, then take everything loaded so far out of the garbage collector's
    # reach: it lives as long as the server, and a full collection over it costs 100-200 ms (a latency spike).
    warehouse = load_application(EXAMPLES_DIR / "world-bank-warehouse.yaml")
    quote_application(warehouse, resolve_ruleset("shandong", warehouse.application_date))
    gc.collect()
    gc.freeze()
    yield


def _optimise_args(body: OptimizeRequest) -> tuple:
    """`network.optimise`'s arguments from a request to POST /optimize or /optimize/stream."""
    tables = body.network.model_dump() if body.network is not None else None
    return body.example, tables, body.ruleset, body.time_limit_s, body.mip_gap, body.ac_rounds, body.formulation


def create_app() -> FastAPI:
    api = _GuardedFastAPI(title="costmodel", version=costmodel.__version__, lifespan=_lifespan, responses=error_responses(408, 413, 500),
                          description="What a grid connection costs in China and who pays (customer vs grid company), and why.",
                          docs_url=None, redoc_url=None)
    _serve_docs_offline(api)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        body_field = getattr(request.scope.get("route"), "body_field", None)
        items = [error_item(item, body_field.field_info.annotation if body_field else None) for item in error.errors()]
        message = "; ".join(f'{item["field"]}: {item["allowed"]}' + (f' (got {item["value"]!r})' if item["value"] is not None else "")
                            for item in items)
        return JSONResponse({"detail": items, "message": message}, status_code=422)

    @api.exception_handler(CostmodelError)
    async def _user_error(request: Request, error: CostmodelError) -> JSONResponse:
        return JSONResponse(problem(str(error), getattr(error, "field", None)), status_code=422)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(problem(str(error.detail)), status_code=error.status_code, headers=error.headers)

    @api.exception_handler(QuoteFault)
    async def _quote_fault(request: Request, error: QuoteFault) -> JSONResponse:
        return JSONResponse(problem(str(error)), status_code=500)

    @api.exception_handler(Exception)
    async def _fault(request: Request, error: Exception) -> JSONResponse:  # the server logs the traceback
        return JSONResponse(problem(INTERNAL_ERROR), status_code=500)

    @api.get("/health")
    def health() -> dict:
        return {"status": "ok", "rulesets": len(available_rulesets())}

    @api.get("/rulesets", response_model=list[RuleSetInfo])
    def rulesets() -> list[RuleSetInfo]:
        out = []
        for ruleset_id in available_rulesets():
            loaded = load_ruleset(ruleset_id)
            out.append(RuleSetInfo(id=loaded.id, title=loaded.title, jurisdiction=loaded.jurisdiction,
                                   in_effect_from=loaded.in_effect_from, lineage=list(loaded.lineage), content_hash=loaded.content_hash))
        return out

    @api.get("/rulesets/{ruleset_id}/parameters", response_model=list[ParameterValue], responses=error_responses(404, 422))
    def ruleset_parameters(ruleset_id: str) -> list[ParameterValue]:
        loaded = _known_ruleset(ruleset_id)
        return _parameter_rows(loaded, sorted(loaded.parameters))

    @api.get("/parameters/{path}", response_model=list[ParameterValue], responses=error_responses(404, 422))
    def parameter_history(path: str, ruleset: str | None = Query(None, description="Rule-set id; every rule set when absent")) -> list[ParameterValue]:
        """The value history of one parameter with its sources, in one rule set or across all that define it."""
        ids = [ruleset] if ruleset else available_rulesets()
        rows = []
        for ruleset_id in ids:
            loaded = _known_ruleset(ruleset_id)
            if path in loaded.parameters:
                rows += _parameter_rows(loaded, [path])
        if not rows:
            known = sorted({p for r in ids for p in load_ruleset(r).parameters})
            raise HTTPException(404, f"no parameter {path!r} in {', '.join(ids)}; known: {', '.join(known)}")
        return rows

    @api.get("/industries")
    def industries() -> list[dict]:
        """Industry keys of the enterprise size table, with their Chinese names (for the form)."""
        return load_size_table()[["industry", "name_zh"]].to_dict("records")

    @api.get("/calendar", responses=error_responses(422))
    def calendar(start: dt.date = Query(..., description="First day"), end: dt.date = Query(..., description="Last day")) -> dict:
        """The working days from start to end (at most 3 years), by the calendar the schedule counts with: statutory
        holidays and adjusted working weekends, Monday to Friday for a year without holiday data."""
        if not 0 <= (end - start).days <= MAX_CALENDAR_DAYS:
            raise HTTPException(422, f"end: {end} must lie 0 to {MAX_CALENDAR_DAYS} days after start {start}")
        days = calendar_for(np.array([start, end], dtype="datetime64[D]"), 0).days
        inside = days[(days >= np.datetime64(start)) & (days <= np.datetime64(end))]
        return {"start": start, "end": end, "working_days": inside.astype(str).tolist()}

    @api.get("/examples")
    def examples() -> list[str]:
        return sorted(path.stem for path in EXAMPLES_DIR.glob("*.yaml"))

    @api.get("/examples/{name}", response_model=Application, responses=error_responses(404, 422))
    def example(name: str) -> Application:
        if name not in examples():
            raise HTTPException(404, f"no example {name!r}; allowed: {', '.join(examples())}")
        return load_application(EXAMPLES_DIR / f"{name}.yaml")

    # A range model named by COSTMODEL_RANGE_MODEL (`serve --range`): /quote and /compare answers carry budget ranges.
    api.state.range_model = model_from_env()
    coalescer = QuoteCoalescer(range_model=api.state.range_model)
    # Per app, so an app made after the tariffs change sees them; resolving lists the rule-set folders.
    resolve = lru_cache(maxsize=4096)(resolve_ruleset)
    if os.environ.get("COSTMODEL_API_FAST_PATH", "1") != "0":  # 0: every /quote through the route (benchmarks/api_load.py)
        api.add_middleware(QuoteFastPath, coalescer=coalescer, resolve=resolve)

    @api.post("/quote", response_model=Quote, responses=error_responses(400, 422))
    async def quote(body: QuoteRequest) -> Response:
        """The itemised quote: who pays for each part, when power comes, and the trace of why."""
        quoted = await coalescer.quote(body.application, resolve(body.ruleset, body.application.application_date))
        return Response(quoted.model_dump_json(), media_type="application/json")  # already a validated Quote

    @api.post("/compare", response_model=Comparison, responses=error_responses(400, 422))
    async def compare(body: CompareRequest) -> Comparison:
        """The same application under several rule sets; the difference is last minus first."""
        when = body.application.application_date
        rulesets = [resolve(name, when) for name in body.rulesets]  # all names checked before any quote starts
        quotes = await asyncio.gather(*(coalescer.quote(body.application, ruleset) for ruleset in rulesets))
        return comparison_of(body.application.id, list(quotes))

    @api.post("/what-if", response_model=WhatIf, responses=error_responses(400, 422))
    async def what_if(body: QuoteRequest) -> Response:
        """The nearest thresholds of the policy in force for this application (capacity caps, size class, park
        level, project database) and what crossing each changes; `curve` is customer CNY against capacity."""
        ruleset = resolve(body.ruleset, body.application.application_date)
        _, result = await run_in_threadpool(quote_with_whatif, body.application, ruleset)  # CPU-bound
        return Response(result.model_dump_json(), media_type="application/json")

    @api.post("/quote.json", responses=error_responses(400, 422))
    def quote_json(body: QuoteRequest) -> Response:
        quoted = _quote(body, api.state.range_model)
        return Response(quoted.model_dump_json(indent=2), media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="quote-{_safe(quoted.application_id)}.json"'})

    @api.post("/quote.html", response_class=HTMLResponse, responses=error_responses(400, 422))
    def quote_html(body: QuoteRequest, lang: str = Query("zh", pattern="^(zh|en)$"),
                   compare_with: str | None = Query("national-1996", description="Rule set shown side by side; empty for none"),
                   fragment: bool = Query(False, description="The quote's layout alone, as the quote page shows it")) -> HTMLResponse:
        """A printable quote page (open it and print, or save); with `fragment`, the same layout for a page to show."""
        parts = _printable(body, compare_with)
        return HTMLResponse(report.render(lang=lang, target="page" if fragment else "print", **parts), headers={
            "Content-Disposition": f'inline; filename="quote-{_safe(body.application.id)}.html"',
            "Content-Security-Policy": REPORT_CSP})

    @api.post("/quote.pdf", response_class=Response, responses=error_responses(400, 422))
    def quote_pdf(body: QuoteRequest, lang: str = Query("zh", pattern="^(zh|en)$"),
                  compare_with: str | None = Query("national-1996", description="Rule set shown side by side; empty for none")) -> Response:
        """The quote as a PDF (Chinese text needs a CJK font; English without one)."""
        parts = _printable(body, compare_with)
        return Response(report.quote_pdf(lang=lang, **parts), media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="quote-{_safe(body.application.id)}.pdf"'})

    @api.post("/batch", response_class=StreamingResponse, responses=error_responses(422), openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
    async def batch(request: Request, ruleset: str = Query("shandong", description="Rule-set id or jurisdiction")) -> StreamingResponse:
        """Quote a CSV of applications (one row each, the columns of the application frame).

        Send the file as the request body (Content-Type text/csv). The answer streams back as CSV: one
        row per application, `status` quoted or rejected, and the reason for each rejected row.
        """
        body = await request.body()  # at most MAX_BATCH_BYTES: HttpGuard refuses a larger one before reading it
        table = await run_in_threadpool(batch_table, body, ruleset)  # CPU-bound: keep the event loop free
        return StreamingResponse(csv_chunks(table, header=True), media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="quotes.csv"'})

    @api.get("/reforms")
    def reforms() -> list[dict]:
        """The example reforms (tariffs/overrides): id, title, the baseline they were written for, and what they change."""
        from costmodel.params.overrides import available_reforms, load_reform

        return [{"id": name, "title": reform.title, "baseline": reform.baseline.id, "changes": reform.diff().to_dict("records")}
                for name in available_reforms() for reform in [load_reform(name)]]

    study_body = {"requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}},
                                                                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}

    @api.post("/study", responses=error_responses(413, 422), openapi_extra=study_body)
    async def study(request: Request, baseline: str = Query("shandong-2019", description="Baseline rule set id"),
                    reform: str = Query(..., description="Reforms applied in turn over the baseline, comma-separated"),
                    format: str = Query("csv", description="The body's file format: csv, xlsx or parquet")) -> JSONResponse:
        """What reforms change for every application of a portfolio (the body: the file), overall and by area, size,
        capacity band and park level, with the customers who win and lose."""
        comparison = await _study(request, format, baseline, reform)
        return JSONResponse(study_summary(comparison))

    @api.post("/study.xlsx", response_class=Response, responses=error_responses(413, 422), openapi_extra=study_body)
    async def study_xlsx(request: Request, baseline: str = Query("shandong-2019"), reform: str = Query(...),
                         format: str = Query("csv")) -> Response:
        """The same study as an Excel workbook: Chinese headers, the header frozen, filters, money as #,##0."""
        comparison = await _study(request, format, baseline, reform)
        return Response(await run_in_threadpool(study_workbook, comparison),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": 'attachment; filename="study.xlsx"'})

    @api.get("/networks", response_model=list[NetworkInfo])
    def networks() -> list[dict]:
        """The shipped example networks POST /optimize takes by name."""
        return network_listing()

    @api.post("/optimize", response_model=OptimizeAnswer, responses=error_responses(400, 413, 422))
    async def optimize(body: OptimizeRequest) -> dict:
        """The cheapest radial extension of a network to every customer (as `costmodel optimize DIR`): an example by name,
        or the network's CSV tables. The answer: the report (status, cost, bound, gap, time, AC check, diagnosis), the
        design, its components, who pays (with applications) and the map as inline SVG. One solve runs at a time."""
        return await run_in_threadpool(optimise, *_optimise_args(body))  # CPU-bound: keep the event loop free

    @api.post("/optimize/stream", response_class=StreamingResponse, responses=error_responses(400, 413, 422),
              openapi_extra={"responses": {"200": {"content": {"application/x-ndjson": {}}}}})
    async def optimize_stream(body: OptimizeRequest) -> StreamingResponse:
        """POST /optimize with progress: NDJSON, one line {"progress": {seconds, incumbent_cny, bound_cny, gap}} each
        time the solver reports (about twice a second), then {"answer": ...} (POST /optimize's answer) or
        {"error": {detail, message}, "status": 422 or 500}. A request the schema refuses is a 422 before any line."""
        return StreamingResponse(optimise_streamed(*_optimise_args(body)), media_type="application/x-ndjson")

    api.mount("/static", StaticFiles(directory=report.STATIC_DIR), name="static")

    @api.get("/studies", include_in_schema=False)
    def studies_page() -> FileResponse:
        return FileResponse(report.STATIC_DIR / "studies.html")

    @api.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(report.STATIC_DIR / "index.html")

    async def _study(request: Request, format: str, baseline: str, reform: str):
        upload = await spool_body(request, MAX_STUDY_BYTES)  # the upload never sits in memory whole
        try:
            return await run_in_threadpool(run_study, upload, format, baseline, reform)  # CPU-bound
        finally:
            upload.unlink(missing_ok=True)

    def _printable(body: QuoteRequest, compare_with: str | None) -> dict:
        when = body.application.application_date
        return report.printable(body.application, resolve_ruleset(body.ruleset, when),
                                resolve_ruleset(compare_with, when) if compare_with else None, api.state.range_model)

    return api


def _serve_docs_offline(api: FastAPI) -> None:
    """/docs and /redoc as FastAPI draws them, with the scripts and styles served from here."""
    api.mount(DOCS_ASSETS, StaticFiles(directory=OFFLINE_DOCS_DIR), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=api.openapi_url, title=f"{api.title} - Swagger UI",
                                   oauth2_redirect_url=api.swagger_ui_oauth2_redirect_url,
                                   swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css", swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")

    @api.get(api.swagger_ui_oauth2_redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @api.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=api.openapi_url, title=f"{api.title} - ReDoc", with_google_fonts=False,
                              redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js", redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png")


def _safe(name: str) -> str:
    # HTTP headers are Latin-1: keep file names to ASCII
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)[:80]


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the app under uvicorn with the server limits of SERVER_OPTIONS (`costmodel serve`)."""
    import uvicorn

    uvicorn.run("costmodel.api:create_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                **SERVER_OPTIONS)
