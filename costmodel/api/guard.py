"""The HTTP guard around the whole app: request body caps (413) and time limits (408), security headers and
content-security policies on every answer, and the one error body of the answers the guard itself gives."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from fastapi.responses import JSONResponse

# A request body bigger than this is refused (413) before it is read: /batch's CSV upload (about
# 400k applications), and every other route's (a JSON application is a few kB).
MAX_BATCH_BYTES = 64 * 1024 * 1024
MAX_BODY_BYTES = 1024 * 1024
# A study's upload is streamed to a temporary file as it arrives (`spool_body`), never held in memory: it may be
# larger (a portfolio of several million rows).
MAX_STUDY_BYTES = 1024 * 1024 * 1024
# A client that sends no data of its body for this long, or not all of it within the total, gets 408.
BODY_IDLE_TIMEOUT_S = 10.0
BODY_TOTAL_TIMEOUT_S = 120.0
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer")]
# The page at / loads only its own script and style sheet and calls only this server.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# /docs and /redoc load Swagger UI / ReDoc from this server (fastapi-offline's copies: no CDN, so they work
# offline) and start them with FastAPI's inline script.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def replay(body: bytes, receive):
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
                 idle_timeout_s: float = BODY_IDLE_TIMEOUT_S, total_timeout_s: float = BODY_TOTAL_TIMEOUT_S,
                 streamed_paths: frozenset[str] = frozenset()):
        self.app, self.max_body_bytes, self.route_body_bytes = app, max_body_bytes, route_body_bytes or {}
        self.idle_timeout_s, self.total_timeout_s = idle_timeout_s, total_timeout_s
        # the routes that read their body themselves, as it arrives (`spool_body`, with the same caps and limits)
        self.streamed_paths = streamed_paths

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = with_security_headers(send, DOCS_CSP if scope["path"].startswith(("/docs", "/redoc")) else PAGE_CSP)
        path, limit = scope["path"], self.route_body_bytes.get(scope["path"], self.max_body_bytes)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            return await _answer(scope, send, 413, f"the request body is {int(declared)} bytes; at most {limit} allowed on {path}")
        if path in self.streamed_paths:
            return await self.app(scope, receive, send)
        try:
            body = await asyncio.wait_for(self._read(receive, limit), self.total_timeout_s)
        except _BodyTooLarge:
            return await _answer(scope, send, 413, f"the request body is more than {limit} bytes; at most {limit} allowed on {path}")
        except asyncio.TimeoutError:
            return await _answer(scope, send, 408, f"the request body did not arrive in time (no data for {self.idle_timeout_s:g} s, "
                                                   f"or not all of it within {self.total_timeout_s:g} s)")
        if body is None:  # the client left
            return
        await self.app(scope, replay(body, receive), send)

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


def with_security_headers(send, csp: str):
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
    await JSONResponse(problem(message), status_code=status)(scope, no_body, send)


INTERNAL_ERROR = "internal error on the server; the fault is logged"   # a 500's message: the details stay in the log


def problem(message: str, field: str | None = None) -> dict:
    """The error body of every non-validation error: one item (without a field unless the error knows it), and the message."""
    return {"detail": [{"field": field, "value": None, "allowed": message}], "message": message}


async def spool_body(request, limit: int, idle_timeout_s: float = BODY_IDLE_TIMEOUT_S,
                     total_timeout_s: float = BODY_TOTAL_TIMEOUT_S) -> Path:
    """A request's body written to a temporary file as it arrives (the caller removes it), under the guard's cap
    (413) and time limits (408); an empty body is refused (422)."""
    from fastapi import HTTPException

    handle, name = tempfile.mkstemp(prefix="costmodel-upload-")
    path, size, started = Path(name), 0, time.monotonic()
    chunks = request.stream().__aiter__()
    try:
        with os.fdopen(handle, "wb") as file:
            while True:
                remaining = total_timeout_s - (time.monotonic() - started)
                try:
                    chunk = await asyncio.wait_for(chunks.__anext__(), max(0.0, min(idle_timeout_s, remaining)))
                except StopAsyncIteration:
                    break
                except asyncio.TimeoutError:
                    raise HTTPException(408, f"the request body did not arrive in time (no data for {idle_timeout_s:g} s, "
                                             f"or not all of it within {total_timeout_s:g} s)") from None
                size += len(chunk)
                if size > limit:
                    raise HTTPException(413, f"the request body is more than {limit} bytes; at most {limit} allowed on {request.url.path}")
                file.write(chunk)
        if not size:
            raise HTTPException(422, "the request body is empty: send the portfolio file as the body")
        return path
    except BaseException:
        path.unlink(missing_ok=True)
        raise
