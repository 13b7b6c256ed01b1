"""The HTTP API and the web page: a thin layer over the library.

`create_app()` builds the FastAPI app; `costmodel serve` runs it with uvicorn. Bad input never
becomes a 500: request validation errors and `CostmodelError`s return 422 (404 for an unknown
rule set or parameter named in the URL) with the field, the value and what is allowed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import io
from collections import deque
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, Iterator

import pandas as pd
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError

import costmodel
from costmodel.application import FRAME_COLUMNS, Application, applications_frame, load_application
from costmodel.classification import load_size_table
from costmodel.errors import CostmodelError, InputError
from costmodel.params import RuleSet, available_rulesets, load_ruleset, resolve_ruleset
from costmodel.paths import EXAMPLES_DIR as SHIPPED_EXAMPLES
from costmodel.quote import Quote, quote_application, quote_frame, quotes_from_batch
from costmodel.scenarios.portfolio import validate_frame
from costmodel.scenarios.studies import quote_portfolio
from costmodel.web import report

EXAMPLES_DIR = SHIPPED_EXAMPLES / "applications"
# An upload bigger than this is refused before parsing (about 400k applications).
MAX_BATCH_BYTES = 64 * 1024 * 1024
BATCH_COLUMNS = ["application_id", "status", "enterprise_size", "supply_voltage", "boundary", "boundary_rule",
                 "customer_cny", "grid_cny", "total_cny", "reason"]
BATCH_CHUNK_ROWS = 5000


class QuoteRequest(BaseModel):
    application: Application
    ruleset: str = Field("shandong", description="Rule-set id, or a jurisdiction (shandong, national) resolved by the application date")


class CompareRequest(BaseModel):
    application: Application
    rulesets: list[str] = Field(["national-1996", "shandong"], min_length=2,
                                description="Rule-set ids or jurisdictions, first is the baseline")


class Comparison(BaseModel):
    application_id: str
    quotes: list[Quote]
    difference_last_minus_first: dict[str, float]


class RuleSetInfo(BaseModel):
    id: str
    title: str
    jurisdiction: str
    in_effect_from: dt.date
    lineage: list[str]
    content_hash: str


class ParameterValue(BaseModel):
    ruleset: str
    path: str
    since: dt.date
    value: Any
    unit: str
    breakdown: str | None
    description: str
    source: str
    document: str
    clause: str
    source_tag: str
    placeholder: bool


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


def _quote(body: QuoteRequest) -> Quote:
    return quote_application(body.application, resolve_ruleset(body.ruleset, body.application.application_date))


def _quote_many(items: list[tuple[Application, RuleSet]]) -> list[Quote | Exception]:
    """Quote many (application, rule set) pairs with one vectorised call per rule set."""
    results: list[Quote | Exception] = [None] * len(items)
    by_ruleset: dict[int, list[int]] = {}
    for position, (_, ruleset) in enumerate(items):
        by_ruleset.setdefault(id(ruleset), []).append(position)
    for positions in by_ruleset.values():
        ruleset = items[positions[0]][1]
        # Clients may send the same application id: quote under unique keys, give each its own back.
        keyed = [items[p][0].model_copy(update={"id": f"request-{p}"}) for p in positions]
        try:
            batch = quote_frame(applications_frame(keyed), ruleset)
        except CostmodelError:  # a fault of the whole call: quote each alone so the error reaches its own request
            for p in positions:
                try:
                    results[p] = quote_application(items[p][0], ruleset)
                except CostmodelError as error:
                    results[p] = error
            continue
        for reject in batch.rejected.itertuples(index=False):
            results[int(reject.application_id.removeprefix("request-"))] = InputError(reject.reason)
        for quoted in quotes_from_batch(batch):
            p = int(quoted.application_id.removeprefix("request-"))
            results[p] = quoted.model_copy(update={"application_id": items[p][0].id})
    return results


class QuoteCoalescer:
    """Concurrent quote requests share one vectorised call.

    One batch runs at a time; requests that arrive meanwhile (or within a short window of the first)
    form the next batch. A batch of 16 costs about a tenth of 16 single quotes, so under load each
    request waits for one shared batch instead of for fifteen others. The window closes as soon as as
    many requests wait as the largest of the last few batches held (the same clients, back with their
    next request), so a steady load pays no fixed wait.
    """

    def __init__(self, window_s: float = 0.002, max_batch: int = 256):
        self.window_s, self.max_batch = window_s, max_batch
        self._pending: list[tuple[Application, RuleSet, asyncio.Future]] = []
        self._draining = False
        self._recent_sizes: deque[int] = deque(maxlen=8)
        self._gathered: asyncio.Event | None = None

    def _expected(self) -> int:
        return max(self._recent_sizes, default=1)

    async def quote(self, application: Application, ruleset: RuleSet) -> Quote:
        future = asyncio.get_running_loop().create_future()
        self._pending.append((application, ruleset, future))
        if self._gathered is not None and len(self._pending) >= self._expected():
            self._gathered.set()
        if not self._draining:
            self._draining = True
            asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                if len(self._pending) < self._expected():  # let requests sent together join the batch
                    self._gathered = asyncio.Event()
                    try:
                        await asyncio.wait_for(self._gathered.wait(), self.window_s)
                    except asyncio.TimeoutError:
                        pass
                    self._gathered = None
                items, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
                self._recent_sizes.append(len(items))
                try:
                    results = await run_in_threadpool(_quote_many, [(application, ruleset) for application, ruleset, _ in items])
                except Exception as error:  # noqa: BLE001 - handed to every waiting request, which reports it
                    results = [error] * len(items)
                for (_, _, future), result in zip(items, results):
                    if not future.done():
                        future.set_exception(result) if isinstance(result, BaseException) else future.set_result(result)
        finally:
            self._draining = False


class QuoteFastPath:
    """ASGI middleware: a POST /quote that can be answered goes straight to the coalescer.

    FastAPI's routing, dependency solving and request objects cost about 0.2 ms of CPU per request,
    as much as a fifth of a coalesced quote. Any other request, and any /quote this path cannot answer
    with a 200 (bad JSON, a validation or rule error, an oversized body), goes on to the FastAPI app
    with its body replayed, so errors, their 422 format and the OpenAPI docs have one source: the
    /quote route.
    """

    def __init__(self, app, coalescer: QuoteCoalescer, resolve, max_body_bytes: int = 1024 * 1024):
        self.app, self.coalescer, self.resolve, self.max_body_bytes = app, coalescer, resolve, max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/quote":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        body, more = b"", True
        while more and len(body) <= self.max_body_bytes:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        answer = None
        if not more and headers.get(b"content-type", b"").split(b";")[0].strip() == b"application/json":
            try:
                request = QuoteRequest.model_validate_json(body)
                quoted = await self.coalescer.quote(request.application, self.resolve(request.ruleset, request.application.application_date))
                answer = quoted.model_dump_json().encode()
            except (ValidationError, CostmodelError):
                pass  # the route reports it
        if answer is None:
            return await self.app(scope, _replay(body, more, receive), send)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


def _replay(body: bytes, more: bool, receive):
    """An ASGI receive that gives back the body already read, then the rest of the request."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()
    return replayed


def _comparison(application_id: str, quotes: list[Quote]) -> Comparison:
    first, last = quotes[0].totals, quotes[-1].totals
    return Comparison(application_id=application_id, quotes=quotes, difference_last_minus_first={
        key: getattr(last, key) - getattr(first, key) for key in ("customer_cny", "grid_cny", "total_cny")})


def _error_item(error: dict) -> dict:
    if error["type"] == "json_invalid":
        return {"field": "(body)", "value": None, "allowed": f'valid JSON ({error.get("ctx", {}).get("error", "")})'}
    field = ".".join(str(part) for part in error["loc"] if part != "body") or "(body)"
    value = error.get("input")
    if isinstance(value, bytes):  # a body that is not JSON (e.g. sent as text/plain) arrives raw
        value = value[:200].decode("utf-8", "replace")
    elif isinstance(value, dict) or not isinstance(value, (str, int, float, bool, list, type(None))):
        value = None if isinstance(value, dict) else str(value)
    return {"field": field, "value": value, "allowed": error["msg"]}


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


def _csv_chunks(frame: pd.DataFrame, header: bool) -> Iterator[str]:
    for start in range(0, len(frame), BATCH_CHUNK_ROWS):
        from costmodel.files import neutralise_formulas  # cells a spreadsheet would run as formulas

        chunk = neutralise_formulas(frame.iloc[start:start + BATCH_CHUNK_ROWS])
        yield chunk.to_csv(index=False, header=header and start == 0, columns=BATCH_COLUMNS, lineterminator="\n")
    if header and frame.empty:
        yield ",".join(BATCH_COLUMNS) + "\n"


@asynccontextmanager
async def _lifespan(api: FastAPI):
    # Load the tariffs with one quote, then take everything loaded so far out of the garbage collector's
    # reach: it lives as long as the server, and a full collection over it costs 100-200 ms (a latency spike).
    warehouse = load_application(EXAMPLES_DIR / "world-bank-warehouse.yaml")
    quote_application(warehouse, resolve_ruleset("shandong", warehouse.application_date))
    gc.collect()
    gc.freeze()
    yield


def create_app() -> FastAPI:
    api = FastAPI(title="costmodel", version=costmodel.__version__, lifespan=_lifespan,
                  description="What a grid connection costs in China and who pays (customer vs grid company), and why.")

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        items = [_error_item(item) for item in error.errors()]
        message = "; ".join(f'{item["field"]}: {item["allowed"]}' + (f' (got {item["value"]!r})' if item["value"] is not None else "")
                            for item in items)
        return JSONResponse({"detail": items, "message": message}, status_code=422)

    @api.exception_handler(CostmodelError)
    async def _user_error(request: Request, error: CostmodelError) -> JSONResponse:
        return JSONResponse({"detail": [{"field": None, "value": None, "allowed": str(error)}], "message": str(error)},
                            status_code=422)

    @api.exception_handler(HTTPException)
    async def _http_error(request: Request, error: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": [{"field": None, "value": None, "allowed": str(error.detail)}],
                             "message": str(error.detail)}, status_code=error.status_code)

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

    @api.get("/rulesets/{ruleset_id}/parameters", response_model=list[ParameterValue])
    def ruleset_parameters(ruleset_id: str) -> list[ParameterValue]:
        loaded = _known_ruleset(ruleset_id)
        return _parameter_rows(loaded, sorted(loaded.parameters))

    @api.get("/parameters/{path}", response_model=list[ParameterValue])
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

    @api.get("/examples")
    def examples() -> list[str]:
        return sorted(path.stem for path in EXAMPLES_DIR.glob("*.yaml"))

    @api.get("/examples/{name}", response_model=Application)
    def example(name: str) -> Application:
        if name not in examples():
            raise HTTPException(404, f"no example {name!r}; allowed: {', '.join(examples())}")
        return load_application(EXAMPLES_DIR / f"{name}.yaml")

    coalescer = QuoteCoalescer()
    # Per app, so an app made after the tariffs change sees them; resolving lists the rule-set folders.
    resolve = lru_cache(maxsize=4096)(resolve_ruleset)
    api.add_middleware(QuoteFastPath, coalescer=coalescer, resolve=resolve)

    @api.post("/quote", response_model=Quote)
    async def quote(body: QuoteRequest) -> Response:
        """The itemised quote: who pays for each part, when power comes, and the trace of why."""
        quoted = await coalescer.quote(body.application, resolve(body.ruleset, body.application.application_date))
        return Response(quoted.model_dump_json(), media_type="application/json")  # already a validated Quote

    @api.post("/compare", response_model=Comparison)
    async def compare(body: CompareRequest) -> Comparison:
        """The same application under several rule sets; the difference is last minus first."""
        when = body.application.application_date
        rulesets = [resolve(name, when) for name in body.rulesets]  # all names checked before any quote starts
        quotes = await asyncio.gather(*(coalescer.quote(body.application, ruleset) for ruleset in rulesets))
        return _comparison(body.application.id, list(quotes))

    @api.post("/quote.json")
    def quote_json(body: QuoteRequest) -> Response:
        quoted = _quote(body)
        return Response(quoted.model_dump_json(indent=2), media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="quote-{_safe(quoted.application_id)}.json"'})

    @api.post("/quote.html", response_class=HTMLResponse)
    def quote_html(body: QuoteRequest, lang: str = Query("zh", pattern="^(zh|en)$"),
                   compare_with: str | None = Query("national-1996", description="Rule set shown side by side; empty for none")) -> HTMLResponse:
        """A printable quote page (open it and print, or save)."""
        quoted, others = _with_comparison(body, compare_with)
        return HTMLResponse(report.quote_html(quoted, lang, others), headers={
            "Content-Disposition": f'inline; filename="quote-{_safe(quoted["application_id"])}.html"'})

    @api.post("/quote.pdf", response_class=Response)
    def quote_pdf(body: QuoteRequest, lang: str = Query("zh", pattern="^(zh|en)$"),
                  compare_with: str | None = Query("national-1996", description="Rule set shown side by side; empty for none")) -> Response:
        """The quote as a PDF (Chinese text needs a CJK font; English without one)."""
        quoted, others = _with_comparison(body, compare_with)
        return Response(report.quote_pdf(quoted, lang, others), media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="quote-{_safe(quoted["application_id"])}.pdf"'})

    @api.post("/batch", response_class=StreamingResponse, openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
    async def batch(request: Request, ruleset: str = Query("shandong", description="Rule-set id or jurisdiction")) -> StreamingResponse:
        """Quote a CSV of applications (one row each, the columns of the application frame).

        Send the file as the request body (Content-Type text/csv). The answer streams back as CSV: one
        row per application, `status` quoted or rejected, and the reason for each rejected row.
        """
        body = await request.body()
        if len(body) > MAX_BATCH_BYTES:
            raise HTTPException(413, f"batch CSV is {len(body)} bytes; at most {MAX_BATCH_BYTES} allowed")
        table = await run_in_threadpool(batch_table, body, ruleset)  # CPU-bound: keep the event loop free
        return StreamingResponse(_csv_chunks(table, header=True), media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="quotes.csv"'})

    api.mount("/static", StaticFiles(directory=report.STATIC_DIR), name="static")

    @api.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(report.STATIC_DIR / "index.html")

    def _with_comparison(body: QuoteRequest, compare_with: str | None) -> tuple[dict, list[dict]]:
        quoted = _quote(body).model_dump(mode="json")
        if not compare_with:
            return quoted, []
        other = quote_application(body.application, resolve_ruleset(compare_with, body.application.application_date))
        return quoted, [other.model_dump(mode="json")]

    return api


def _safe(name: str) -> str:
    # HTTP headers are Latin-1: keep file names to ASCII
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)[:80]
