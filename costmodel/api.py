"""The HTTP API and the web page: a thin layer over the library.

`create_app()` builds the FastAPI app; `serve()` runs it with uvicorn and the server limits. Bad
input never becomes a 500: request validation errors (unknown keys included) and `CostmodelError`s
return 422 (404 for an unknown rule set or parameter named in the URL) with the field, the value and
what is allowed; a body too large is a 413, one too slow a 408. A fault of the server in one quote is
a 500 for that request alone, with a generic message (the traceback goes to the log). Every error
answer has the same JSON body (`Problem`), as the OpenAPI spec says.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import gc
import hashlib
import importlib.resources
import io
import logging
import math
from collections import deque
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, Iterator

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from pydantic import BaseModel, ConfigDict, Field

import costmodel
from costmodel.application import FRAME_COLUMNS, Application, applications_frame, load_application
from costmodel.classification import load_size_table
from costmodel.errors import CostmodelError, InputError
from costmodel.params import RuleSet, available_rulesets, load_ruleset, resolve_ruleset
from costmodel.paths import EXAMPLES_DIR as SHIPPED_EXAMPLES
from costmodel.quote import Quote, quote_application, quote_frame, quotes_from_batch
from costmodel.schedule.calendar import calendar_for
from costmodel.scenarios.portfolio import validate_frame
from costmodel.scenarios.studies import quote_portfolio
from costmodel.web import report
from costmodel.whatif import WhatIf, quote_with_whatif

EXAMPLES_DIR = SHIPPED_EXAMPLES / "applications"
# A request body bigger than this is refused (413) before it is read: /batch's CSV upload (about
# 400k applications), and every other route's (a JSON application is a few kB).
MAX_BATCH_BYTES = 64 * 1024 * 1024
MAX_BODY_BYTES = 1024 * 1024
# A client that sends no data of its body for this long, or not all of it within the total, gets 408.
BODY_IDLE_TIMEOUT_S = 10.0
BODY_TOTAL_TIMEOUT_S = 120.0
# What `costmodel serve` gives uvicorn (see `serve`): idle keep-alive connections are closed after 5 s,
# at most 1000 connections are served at once (503 beyond), an incomplete request head is capped at 64 kB.
SERVER_OPTIONS = {"timeout_keep_alive": 5, "limit_concurrency": 1000, "h11_max_incomplete_event_size": 64 * 1024,
                  "timeout_graceful_shutdown": 10}
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
# The page at / loads only its own script and style sheet and calls only this server.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# /docs and /redoc load Swagger UI / ReDoc from this server (fastapi-offline's copies: no CDN, so they work
# offline) and start them with FastAPI's inline script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
DOCS_ASSETS = "/docs-assets"
OFFLINE_DOCS_DIR = str(importlib.resources.files("fastapi_offline") / "static")
# The printable quote (/quote.html) is one self-contained page: its own inline style sheet, nothing else.
REPORT_CSP = (f"default-src 'none'; style-src 'sha256-{base64.b64encode(hashlib.sha256(report.PRINT_CSS.encode()).digest()).decode()}'; "
              "img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
BATCH_COLUMNS = ["application_id", "status", "enterprise_size", "supply_voltage", "boundary", "boundary_rule",
                 "customer_cny", "grid_cny", "total_cny", "reason"]
BATCH_CHUNK_ROWS = 5000
# /compare quotes one application under at most this many rule sets.
MAX_COMPARE_RULESETS = 10
MAX_CALENDAR_DAYS = 3 * 366  # /calendar's longest span: a schedule's, with room

log = logging.getLogger(__name__)


class QuoteFault(Exception):
    """A quote failed on the server (not the client's fault): a 500 with this message, the traceback only in the log."""


class QuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: Application
    ruleset: str = Field("shandong", description="Rule-set id, or a jurisdiction (shandong, national) resolved by the application date")


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application: Application
    rulesets: list[str] = Field(["national-1996", "shandong"], min_length=2, max_length=MAX_COMPARE_RULESETS,
                                description=f"Rule-set ids or jurisdictions, first is the baseline; 2 to {MAX_COMPARE_RULESETS}")


class Comparison(BaseModel):
    application_id: str
    quotes: list[Quote]
    difference_last_minus_first: dict[str, float]


class ErrorItem(BaseModel):
    field: str | None = Field(description="The field at fault, dotted (application.site.area), (body) for the body as a whole, "
                                           "null for an error of the request as a whole or of several fields together")
    value: Any = Field(None, description="The value given (NaN and infinities as text), or null")
    allowed: str = Field(description="What is allowed there")


class Problem(BaseModel):
    """The body of every error answer."""
    detail: list[ErrorItem]
    message: str = Field(description="The errors in one sentence")


ERROR_MEANINGS = {
    400: "The body could not be parsed at all (for example JSON nested too deep)",
    404: "No such rule set, parameter or example (named in the URL)",
    408: "The request body did not arrive in time",
    413: f"The request body is too large: at most {MAX_BODY_BYTES} bytes ({MAX_BATCH_BYTES} on /batch)",
    422: "Invalid input, each error with the field, the value and what is allowed: a field's type or range, an unknown "
         "field, or a rule across fields (an unknown or unresolvable rule set, a capacity beyond what 10 kV serves, "
         "enterprise figures without an industry, ...)",
    500: "A fault on the server, reported without its details (they are logged)",
}


def _errors(*codes: int) -> dict:
    """OpenAPI `responses` for these error statuses, all with the Problem body."""
    return {code: {"model": Problem, "description": ERROR_MEANINGS[code]} for code in codes}


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


def _quote_group(applications: list[Application], ruleset: RuleSet) -> list[Quote | Exception]:
    """Quote applications under one rule set with one vectorised call; a rejected row is its InputError."""
    # Clients may send the same application id: quote under unique keys, give each its own back.
    keyed = [application.model_copy(update={"id": f"request-{p}"}) for p, application in enumerate(applications)]
    batch = quote_frame(applications_frame(keyed), ruleset)
    results: list[Quote | Exception] = [None] * len(applications)
    for reject in batch.rejected.itertuples(index=False):
        results[int(reject.application_id.removeprefix("request-"))] = InputError(reject.reason)
    for quoted in quotes_from_batch(batch):
        p = int(quoted.application_id.removeprefix("request-"))
        results[p] = quoted.model_copy(update={"application_id": applications[p].id})
    return results


def _quote_alone(application: Application, ruleset: RuleSet) -> Quote | Exception:
    """One application's quote, or the error it alone causes: a user error, or a QuoteFault (logged)."""
    try:
        return _quote_group([application], ruleset)[0]
    except CostmodelError as error:
        return error
    except Exception:  # noqa: BLE001 - a fault of ours (code or tariffs): logged here, a generic 500 for the client
        log.exception("quoting %r under %s failed", application.id, ruleset.id)
        return QuoteFault(f"the quote of {application.id!r} under {ruleset.id} failed on the server; the fault is logged")


def _quote_many(items: list[tuple[Application, RuleSet]]) -> list[Quote | Exception]:
    """Quote many (application, rule set) pairs with one vectorised call per rule set.

    If a call fails as a whole (an input that passed validation but breaks the batch, or a broken
    rule-set file), its members are quoted one by one, so the fault reaches only the requests that
    cause it and every other request gets the quote it would get alone.
    """
    results: list[Quote | Exception] = [None] * len(items)
    by_ruleset: dict[int, list[int]] = {}
    for position, (_, ruleset) in enumerate(items):
        by_ruleset.setdefault(id(ruleset), []).append(position)
    for positions in by_ruleset.values():
        ruleset = items[positions[0]][1]
        applications = [items[p][0] for p in positions]
        group = None
        if len(applications) > 1:
            try:
                group = _quote_group(applications, ruleset)
            except Exception:  # noqa: BLE001 - isolated below, member by member
                pass
        if group is None:
            group = [_quote_alone(application, ruleset) for application in applications]
        for p, result in zip(positions, group):
            results[p] = result
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
    with a 200 (bad JSON, a validation or rule error, a fault of the quote), goes on to the FastAPI app
    with its body replayed, so errors, their format and the OpenAPI docs have one source: the /quote
    route. The body is already capped in size and time by `HttpGuard`, outside this middleware.
    """

    def __init__(self, app, coalescer: QuoteCoalescer, resolve):
        self.app, self.coalescer, self.resolve = app, coalescer, resolve

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != "/quote":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        answer = None
        if headers.get(b"content-type", b"").split(b";")[0].strip() == b"application/json":
            try:
                request = QuoteRequest.model_validate_json(body)
                quoted = await self.coalescer.quote(request.application, self.resolve(request.ruleset, request.application.application_date))
                answer = quoted.model_dump_json().encode()
            except Exception:  # noqa: BLE001 - the route reports every error, in its one format
                pass
        if answer is None:
            return await self.app(scope, _replay(body, receive), send)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


def _replay(body: bytes, receive):
    """An ASGI receive that gives back the whole body already read, then waits as the request's own would."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return replayed


class _BodyTooLarge(Exception):
    pass


class HttpGuard:
    """ASGI middleware around the whole app (error handlers included).

    Every response gets the standard security headers. A request body is read here, before any route
    sees it: a body declared or found larger than its route's cap is refused with 413 without reading
    the rest, and a client that sends its body too slowly (no data for `idle_timeout_s`, or not all of
    it within `total_timeout_s`) gets 408 instead of holding a connection and a worker.
    """

    def __init__(self, app, max_body_bytes: int = MAX_BODY_BYTES, route_body_bytes: dict[str, int] | None = None,
                 idle_timeout_s: float = BODY_IDLE_TIMEOUT_S, total_timeout_s: float = BODY_TOTAL_TIMEOUT_S):
        self.app, self.max_body_bytes, self.route_body_bytes = app, max_body_bytes, route_body_bytes or {}
        self.idle_timeout_s, self.total_timeout_s = idle_timeout_s, total_timeout_s

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = _with_security_headers(send, DOCS_CSP if scope["path"].startswith(("/docs", "/redoc")) else PAGE_CSP)
        path, limit = scope["path"], self.route_body_bytes.get(scope["path"], self.max_body_bytes)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await _answer(scope, send, 413, f"the request body is {int(declared)} bytes; at most {limit} allowed on {path}")
        try:
            body = await asyncio.wait_for(self._read(receive, limit), self.total_timeout_s)
        except _BodyTooLarge:
            return await _answer(scope, send, 413, f"the request body is more than {limit} bytes; at most {limit} allowed on {path}")
        except asyncio.TimeoutError:
            return await _answer(scope, send, 408, f"the request body did not arrive in time (no data for {self.idle_timeout_s:g} s, "
                                                   f"or not all of it within {self.total_timeout_s:g} s)")
        if body is None:  # the client left
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive, limit: int) -> bytes | None:
        chunks, size, more = [], 0, True
        while more:
            message = await asyncio.wait_for(receive(), self.idle_timeout_s)
            if message["type"] == "http.disconnect":
                return None
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                raise _BodyTooLarge
            more = message.get("more_body", False)
        return b"".join(chunks)


def _with_security_headers(send, csp: str):
    """A send that adds the security headers (and `csp`, unless the response sets its own policy)."""
    async def guarded(message):
        if message["type"] == "http.response.start":
            present = {name.lower() for name, _ in message.get("headers", [])}
            extra = [(name, value) for name, value in SECURITY_HEADERS + [(b"content-security-policy", csp.encode())]
                     if name not in present]
            message = {**message, "headers": list(message.get("headers", [])) + extra}
        await send(message)
    return guarded


async def _answer(scope, send, status: int, message: str) -> None:
    async def no_body():
        return {"type": "http.disconnect"}
    await JSONResponse(_problem(message), status_code=status)(scope, no_body, send)


def _problem(message: str) -> dict:
    """The error body of every non-validation error: one item without a field, and the message."""
    return {"detail": [{"field": None, "value": None, "allowed": message}], "message": message}


def _comparison(application_id: str, quotes: list[Quote]) -> Comparison:
    first, last = quotes[0].totals, quotes[-1].totals
    return Comparison(application_id=application_id, quotes=quotes, difference_last_minus_first={
        key: getattr(last, key) - getattr(first, key) for key in ("customer_cny", "grid_cny", "total_cny")})


def _error_item(error: dict, body_model: type[BaseModel] | None = None) -> dict:
    if error["type"] == "json_invalid":
        return {"field": "(body)", "value": None, "allowed": f'valid JSON ({error.get("ctx", {}).get("error", "")})'}
    loc = [part for part in error["loc"] if part != "body"]
    field = ".".join(str(part) for part in loc) or "(body)"
    allowed = error["msg"].removeprefix("Value error, ")  # our validators' own words, as the file path gives them
    if error["type"] == "extra_forbidden":
        known = _fields_at(body_model, loc[:-1])
        allowed = f"{allowed}: no field {loc[-1]!r} here (misspelt?)" + (f"; allowed: {', '.join(known)}" if known else "")
    return {"field": field, "value": _json_safe(error.get("input")), "allowed": allowed}


def _fields_at(model: type[BaseModel] | None, loc: list) -> list[str]:
    """The field names of the model found at `loc` inside `model` (empty when it cannot be followed)."""
    for part in loc:
        field = model.model_fields.get(part) if model is not None else None
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
    return list(model.model_fields) if model is not None else []


def _json_safe(value: Any) -> Any:
    """The offending value as JSON can carry it: NaN and infinities as text, raw bytes decoded, objects left out."""
    if isinstance(value, bytes):  # a body that is not JSON (e.g. sent as text/plain) arrives raw
        return value[:200].decode("utf-8", "replace")
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN or Infinity
        return str(value)
    if isinstance(value, list):
        return [_json_safe(item) for item in value[:50]]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return None if isinstance(value, dict) else str(value)


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


class _GuardedFastAPI(FastAPI):
    """FastAPI with `HttpGuard` outside its whole stack, so even a 500 carries the security headers."""

    def build_middleware_stack(self):
        return HttpGuard(super().build_middleware_stack(), route_body_bytes={"/batch": MAX_BATCH_BYTES})

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


def create_app() -> FastAPI:
    api = _GuardedFastAPI(title="costmodel", version=costmodel.__version__, lifespan=_lifespan, responses=_errors(408, 413, 500),
                          description="What a grid connection costs in China and who pays (customer vs grid company), and why.",
                          docs_url=None, redoc_url=None)
    _serve_docs_offline(api)

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        body_field = getattr(request.scope.get("route"), "body_field", None)
        items = [_error_item(item, body_field.field_info.annotation if body_field else None) for item in error.errors()]
        message = "; ".join(f'{item["field"]}: {item["allowed"]}' + (f' (got {item["value"]!r})' if item["value"] is not None else "")
                            for item in items)
        return JSONResponse({"detail": items, "message": message}, status_code=422)

    @api.exception_handler(CostmodelError)
    async def _user_error(request: Request, error: CostmodelError) -> JSONResponse:
        return JSONResponse(_problem(str(error)), status_code=422)

    @api.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(_problem(str(error.detail)), status_code=error.status_code, headers=error.headers)

    @api.exception_handler(QuoteFault)
    async def _quote_fault(request: Request, error: QuoteFault) -> JSONResponse:
        return JSONResponse(_problem(str(error)), status_code=500)

    @api.exception_handler(Exception)
    async def _fault(request: Request, error: Exception) -> JSONResponse:  # the server logs the traceback
        return JSONResponse(_problem("internal error on the server; the fault is logged"), status_code=500)

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

    @api.get("/rulesets/{ruleset_id}/parameters", response_model=list[ParameterValue], responses=_errors(404, 422))
    def ruleset_parameters(ruleset_id: str) -> list[ParameterValue]:
        loaded = _known_ruleset(ruleset_id)
        return _parameter_rows(loaded, sorted(loaded.parameters))

    @api.get("/parameters/{path}", response_model=list[ParameterValue], responses=_errors(404, 422))
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

    @api.get("/calendar", responses=_errors(422))
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

    @api.get("/examples/{name}", response_model=Application, responses=_errors(404, 422))
    def example(name: str) -> Application:
        if name not in examples():
            raise HTTPException(404, f"no example {name!r}; allowed: {', '.join(examples())}")
        return load_application(EXAMPLES_DIR / f"{name}.yaml")

    coalescer = QuoteCoalescer()
    # Per app, so an app made after the tariffs change sees them; resolving lists the rule-set folders.
    resolve = lru_cache(maxsize=4096)(resolve_ruleset)
    api.add_middleware(QuoteFastPath, coalescer=coalescer, resolve=resolve)

    @api.post("/quote", response_model=Quote, responses=_errors(400, 422))
    async def quote(body: QuoteRequest) -> Response:
        """The itemised quote: who pays for each part, when power comes, and the trace of why."""
        quoted = await coalescer.quote(body.application, resolve(body.ruleset, body.application.application_date))
        return Response(quoted.model_dump_json(), media_type="application/json")  # already a validated Quote

    @api.post("/compare", response_model=Comparison, responses=_errors(400, 422))
    async def compare(body: CompareRequest) -> Comparison:
        """The same application under several rule sets; the difference is last minus first."""
        when = body.application.application_date
        rulesets = [resolve(name, when) for name in body.rulesets]  # all names checked before any quote starts
        quotes = await asyncio.gather(*(coalescer.quote(body.application, ruleset) for ruleset in rulesets))
        return _comparison(body.application.id, list(quotes))

    @api.post("/what-if", response_model=WhatIf, responses=_errors(400, 422))
    async def what_if(body: QuoteRequest) -> Response:
        """The nearest thresholds of the policy in force for this application (capacity caps, size class, park
        level, project database) and what crossing each changes; `curve` is customer CNY against capacity."""
        ruleset = resolve(body.ruleset, body.application.application_date)
        _, result = await run_in_threadpool(quote_with_whatif, body.application, ruleset)  # CPU-bound
        return Response(result.model_dump_json(), media_type="application/json")

    @api.post("/quote.json", responses=_errors(400, 422))
    def quote_json(body: QuoteRequest) -> Response:
        quoted = _quote(body)
        return Response(quoted.model_dump_json(indent=2), media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="quote-{_safe(quoted.application_id)}.json"'})

    @api.post("/quote.html", response_class=HTMLResponse, responses=_errors(400, 422))
    def quote_html(body: QuoteRequest, lang: str = Query("zh", pattern="^(zh|en)$"),
                   compare_with: str | None = Query("national-1996", description="Rule set shown side by side; empty for none")) -> HTMLResponse:
        """A printable quote page (open it and print, or save)."""
        parts = _printable(body, compare_with)
        return HTMLResponse(report.quote_html(lang=lang, **parts), headers={
            "Content-Disposition": f'inline; filename="quote-{_safe(body.application.id)}.html"',
            "Content-Security-Policy": REPORT_CSP})

    @api.post("/quote.pdf", response_class=Response, responses=_errors(400, 422))
    def quote_pdf(body: QuoteRequest, lang: str = Query("zh", pattern="^(zh|en)$"),
                  compare_with: str | None = Query("national-1996", description="Rule set shown side by side; empty for none")) -> Response:
        """The quote as a PDF (Chinese text needs a CJK font; English without one)."""
        parts = _printable(body, compare_with)
        return Response(report.quote_pdf(lang=lang, **parts), media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="quote-{_safe(body.application.id)}.pdf"'})

    @api.post("/batch", response_class=StreamingResponse, responses=_errors(422), openapi_extra={
        "requestBody": {"required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}})
    async def batch(request: Request, ruleset: str = Query("shandong", description="Rule-set id or jurisdiction")) -> StreamingResponse:
        """Quote a CSV of applications (one row each, the columns of the application frame).

        Send the file as the request body (Content-Type text/csv). The answer streams back as CSV: one
        row per application, `status` quoted or rejected, and the reason for each rejected row.
        """
        body = await request.body()  # at most MAX_BATCH_BYTES: HttpGuard refuses a larger one before reading it
        table = await run_in_threadpool(batch_table, body, ruleset)  # CPU-bound: keep the event loop free
        return StreamingResponse(_csv_chunks(table, header=True), media_type="text/csv",
                                 headers={"Content-Disposition": 'attachment; filename="quotes.csv"'})

    api.mount("/static", StaticFiles(directory=report.STATIC_DIR), name="static")

    @api.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(report.STATIC_DIR / "index.html")

    def _printable(body: QuoteRequest, compare_with: str | None) -> dict:
        when = body.application.application_date
        return report.printable(body.application, resolve_ruleset(body.ruleset, when),
                                resolve_ruleset(compare_with, when) if compare_with else None)

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
