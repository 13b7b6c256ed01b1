import datetime as dt

import pytest

from costmodel.application import load_application
from costmodel.params import resolve_ruleset
from costmodel.quote import quote_application
from tests_support import EXAMPLES


@pytest.mark.parametrize("day, line, cited", [
    (dt.date(2021, 2, 28), "red_line_extension.urban_building_red_line<2020-09-22> = False bool (", "(发改能源规〔2020〕1479号): "),
    (dt.date(2021, 3, 1), "red_line_extension.urban_building_red_line<2021-03-01> = True bool (", "(国办函〔2020〕129号): "),
])
def test_the_trace_cites_the_reference_of_the_value_in_force(day, line, cited):
    application = load_application(EXAMPLES / "world-bank-warehouse.yaml").model_copy(update={"application_date": day})
    quote = quote_application(application, resolve_ruleset("national", day))
    step = next(step for step in quote.trace if step.decision == "investment_boundary")
    [read] = [text for text in step.parameters if text.startswith("red_line_extension.urban_building_red_line")]
    assert read.startswith(line) and cited in read
