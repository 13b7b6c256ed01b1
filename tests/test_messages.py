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


def test_a_reason_is_its_english_text_and_carries_its_chinese_to_another_process():
    import pickle

    from costmodel.messages import Reason, in_chinese

    reason = Reason("reject.beyond_10kv", kva=12000.0, path="supply_voltage.max_10kv_capacity", cap=10000.0, unit="kVA", voltage="35kV")
    assert reason == ("request.capacity: 12000.0 kVA exceeds what 10 kV serves (supply_voltage.max_10kv_capacity = 10000.0 kVA): "
                      "supply would be at 35kV, which costmodel does not design")
    copied = pickle.loads(pickle.dumps(reason))
    assert copied == reason and in_chinese(copied) == in_chinese(reason) and in_chinese(reason).startswith("申请容量 12000.0 千伏安超过10千伏可供容量")
    assert in_chinese("plain text") == "plain text"


def test_every_shipped_rule_set_has_a_chinese_title():
    from costmodel.params import available_rulesets, load_ruleset

    missing = [ruleset_id for ruleset_id in available_rulesets() if not load_ruleset(ruleset_id).title_zh]
    assert missing == []
