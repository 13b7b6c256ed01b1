"""The API under schemathesis: generated requests from the OpenAPI spec never get a 500."""

from hypothesis import HealthCheck, settings
import schemathesis
from schemathesis.checks import not_a_server_error

from costmodel.api import create_app

schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())


@schema.exclude(path="/batch").parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_server_fail(case):
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
