"""Concurrent quote requests share one vectorised call (`QuoteCoalescer`), and a POST /quote that can be
answered skips FastAPI's routing (`QuoteFastPath`). A fault in one request reaches that request alone."""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from starlette.concurrency import run_in_threadpool

from costmodel.api.guard import replay
from costmodel.api.schemas import QuoteRequest
from costmodel.application import Application, applications_frame
from costmodel.errors import CostmodelError, InputError
from costmodel.params import RuleSet
from costmodel.quote import Quote, quote_frame, quotes_from_batch

log = logging.getLogger(__name__)


class QuoteFault(Exception):
    """A quote failed on the server (not the client's fault): a 500 with this message, the traceback only in the log."""


def _quote_group(applications: list[Application], ruleset: RuleSet, range_model=None) -> list[Quote | Exception]:
    """Quote applications under one rule set with one vectorised call; a rejected row is its InputError. With a range
    model (costmodel.ranges), each quote carries its budget range, predicted for the whole group at once."""
    # Clients may send the same application id: quote under unique keys, give each its own back.
    keyed = [application.model_copy(update={"id": f"request-{p}"}) for p, application in enumerate(applications)]
    batch = quote_frame(applications_frame(keyed), ruleset)
    results: list[Quote | Exception] = [None] * len(applications)
    for reject in batch.rejected.itertuples(index=False):
        results[int(reject.application_id.removeprefix("request-"))] = InputError(reject.reason)
    quotes = quotes_from_batch(batch)
    if range_model is not None and quotes:
        from costmodel.ranges.attach import budget_ranges

        quotes = budget_ranges(range_model, batch, quotes)
    for quoted in quotes:
        p = int(quoted.application_id.removeprefix("request-"))
        results[p] = quoted.model_copy(update={"application_id": applications[p].id})
    return results


def _quote_alone(application: Application, ruleset: RuleSet, range_model=None) -> Quote | Exception:
    """One application's quote, or the error it alone causes: a user error, or a QuoteFault (logged)."""
    try:
        return _quote_group([application], ruleset, range_model)[0]
    except CostmodelError as error:
        return error
    except Exception:  # noqa: BLE001 - a fault of ours (code or tariffs): logged here, a generic 500 for the client
        log.exception("quoting %r under %s failed", application.id, ruleset.id)
        return QuoteFault(f"the quote of {application.id!r} under {ruleset.id} failed on the server; the fault is logged")


def quote_many(items: list[tuple[Application, RuleSet]], range_model=None) -> list[Quote | Exception]:
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
                group = _quote_group(applications, ruleset, range_model)
            except Exception:  # noqa: BLE001 - isolated below, member by member
                pass
        if group is None:
            group = [_quote_alone(application, ruleset, range_model) for application in applications]
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

    def __init__(self, window_s: float = 0.002, max_batch: int = 256, range_model=None):
        self.window_s, self.max_batch = window_s, max_batch
        self.range_model = range_model  # costmodel.ranges: every quote carries its budget range
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
                    results = await run_in_threadpool(quote_many, [(application, ruleset) for application, ruleset, _ in items],
                                                      self.range_model)
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
            return await self.app(scope, replay(body, receive), send)
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})
