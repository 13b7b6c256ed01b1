"""/docs and /redoc work without internet: every request that leaves the server is blocked."""

import pytest


@pytest.mark.parametrize("path, drawn", [("/docs", ".swagger-ui .information-container .title"),
                                         ("/redoc", "[role=main] h1, .api-info h1")])
def test_the_api_docs_render_with_every_outside_request_blocked(browser, live_server, path, drawn):
    context = browser.new_context()
    outside = []

    def only_this_server(route):
        if route.request.url.startswith(live_server):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    context.route("**/*", only_this_server)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server + path)
    title = page.wait_for_selector(drawn, timeout=15_000)
    assert "costmodel" in title.inner_text()
    # the operations are listed from /openapi.json, so the page drew the API, not only its frame
    page.wait_for_selector("text=/quote.html")
    assert outside == [] and errors == []
    context.close()
