"""Both languages come from data: every text a quote shows has its Chinese beside its English."""

import re

import pytest

from costmodel.designs.standard import load_scheme
from costmodel.messages import _messages, say
from costmodel.params import available_rulesets, load_ruleset

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_message_has_both_languages_and_the_same_fields():
    for key, texts in _messages().items():
        fields = [set(re.findall(r"{(\w+)}", texts[language])) for language in ("en", "zh")]
        # the Chinese may use the *_zh variant of a field the English uses
        assert {field.removesuffix("_zh") for field in fields[1]} <= {field.removesuffix("_zh") for field in fields[0]} | fields[0], key
        assert CJK.search(texts["zh"]), key


def test_say_fills_both_languages():
    english, chinese = say("warning.indicative", count=3)
    assert english == "3 line(s) priced with indicative unit costs, not cited figures"
    assert chinese == "3 项按参考单价计价，并非引用的数据"


def test_every_component_of_the_standard_scheme_has_a_chinese_name():
    for item in load_scheme("cn-standard-2019").components:
        assert CJK.search(item.get("name_zh", "")), item["id"]


@pytest.mark.parametrize("ruleset_id", available_rulesets())
def test_every_rule_and_fee_of_every_shipped_rule_set_has_chinese(ruleset_id):
    ruleset = load_ruleset(ruleset_id)
    for name, table in ruleset.decisions.items():
        for rule in getattr(table, "rules", ()):
            assert CJK.search(rule.description_zh), (ruleset_id, rule.id)
        for fee in getattr(table, "fees", ()):
            assert CJK.search(fee.name_zh), (ruleset_id, fee.id)
