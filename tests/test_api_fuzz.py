"""The API under schemathesis: requests generated from the whole OpenAPI spec get no 500 and answer
as the spec says (status, content type, headers, body schema).

422 is an expected answer to a schema-valid request: the spec documents it for the rules across
fields that JSON Schema does not express (an enterprise applicant needs its enterprise section, a
jurisdiction must have rules in force on the application date, a capacity beyond what 10 kV serves).
"""

from hypothesis import HealthCheck, settings
import schemathesis
from schemathesis.config import SchemathesisConfig

from costmodel.api import create_app

CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"positive_data_acceptance": {"expected-statuses": ["2xx", "404", "422"]}}})
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(), config=CONFIG)


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_route_answers_as_its_spec_says(case):
    response = case.call()
    case.validate_response(response)  # every check: no 500, status, content type, headers, response schema
