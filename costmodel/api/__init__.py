"""The HTTP API and the web page: a thin layer over the library.

`create_app()` builds the FastAPI app; `serve()` runs it with uvicorn and the server limits. Bad
input never becomes a 500: request validation errors (unknown keys included) and `CostmodelError`s
return 422 (404 for an unknown rule set or parameter named in the URL) with the field, the value and
what is allowed; a body too large is a 413, one too slow a 408. A fault of the server in one quote is
a 500 for that request alone, with a generic message (the traceback goes to the log). Every error
answer has the same JSON body (`Problem`), as the OpenAPI spec says.

The house: `routes` (the app), `schemas` (request, answer and error models), `coalescer` (shared quote
batches and the /quote fast path) and `guard` (body caps, time limits, security headers).
"""

from costmodel.api.coalescer import QuoteCoalescer
from costmodel.api.guard import DOCS_CSP, MAX_BATCH_BYTES, MAX_BODY_BYTES, PAGE_CSP, HttpGuard
from costmodel.api.routes import BATCH_COLUMNS, REPORT_CSP, SERVER_OPTIONS, create_app, serve

__all__ = ["BATCH_COLUMNS", "DOCS_CSP", "MAX_BATCH_BYTES", "MAX_BODY_BYTES", "PAGE_CSP", "REPORT_CSP", "SERVER_OPTIONS", "HttpGuard",
           "QuoteCoalescer", "create_app", "serve"]
