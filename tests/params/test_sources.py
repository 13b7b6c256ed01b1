"""The bibliography (tariffs/sources.yaml) and citations of it: a source key, the article, a quote or a paraphrase."""

import datetime as dt
from pathlib import Path

import pytest

from costmodel.costs.price_index import load_price_index
from costmodel.designs.standard import load_scheme
from costmodel.errors import InputError
from costmodel.grid.importers import steiner_import_defaults
from costmodel.params import available_rulesets, load_ruleset
from costmodel.params.overrides import available_reforms, load_reform
from costmodel.params.parameter import Parameter, Reference
from costmodel.params.sources import load_sources
from costmodel.paths import tariffs_dir
from costmodel.rules.abolished import abolished_charges
from costmodel.rules.table import DecisionTable
from costmodel.scenarios.doing_business import case_parameters
from costmodel.scenarios.national import weights_reference
from costmodel.yamlio import load_yaml


def test_a_quote_renders_in_quotation_marks_with_its_article():
    reference = Reference.from_yaml({"source": "gbh-2020-129", "article": "第X条", "quote": "在城镇规划建设用地范围内"}, "t.yaml")
    assert reference.cite() == ("国务院办公厅转发国家发展改革委等部门《关于清理规范城镇供水供电供气供暖行业收费促进行业高质量发展意见的通知》"
                                "(国办函〔2020〕129号), 第X条: “在城镇规划建设用地范围内” [national]")
    assert (reference.source, reference.key, reference.quoted) == ("national", "gbh-2020-129", True)


def test_a_paraphrase_is_marked_as_one_and_keeps_the_unverified_flag():
    reference = Reference.from_yaml({"source": "shandong-2019-opinions", "paraphrase": "小微企业接入全部零投资",
                                     "unverified": True}, "t.yaml")
    assert reference.cite() == ("《进一步优化提升我省简化获得电力专项行动的实施意见》(山东, 2019): 小微企业接入全部零投资 (paraphrase) "
                                "[article, unverified]")
    assert "“" not in reference.cite()


@pytest.mark.parametrize("raw, message", [
    ({"source": "gbh-2020-129", "quote": "a", "paraphrase": "b"}, "t.yaml: reference needs exactly one of quote .* got quote, paraphrase"),
    ({"source": "gbh-2020-129", "article": "第一条"}, "t.yaml: reference needs exactly one of quote .* got neither"),
    ({"source": "gbh-2020-129", "paraphrase": "b", "unverified": "yes"}, "unverified is 'yes'; allowed: true, false"),
])
def test_a_citation_is_exactly_one_of_quote_or_paraphrase(raw, message):
    with pytest.raises(InputError, match=message):
        Reference.from_yaml(raw, "t.yaml")


def test_an_unknown_source_key_in_a_rule_names_the_file_the_key_and_the_allowed_keys():
    raw = {"decision": "d", "description": "d", "outcomes": ["a"],
           "rules": [{"id": "r", "description": "d", "then": "a", "cites": {"source": "gbh-2020-192", "paraphrase": "x"}}]}
    with pytest.raises(InputError, match=r"table.yaml: rule 1 \(r\): reference: source 'gbh-2020-192' is not a key of "
                                         r".*sources.yaml; allowed: .*cn-distribution-practice, cn-grid-practice, .*gbh-2020-129"):
        DecisionTable.from_yaml(raw, Path("table.yaml"))


def test_a_manifest_lists_keys_of_the_bibliography(tariffs_copy):
    manifest = tariffs_copy / "rulesets/national-2020/manifest.yaml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace("gbh-2020-129]", "gbh-2020-130]"), encoding="utf-8")
    with pytest.raises(InputError, match="national-2020/manifest.yaml: sources: source 'gbh-2020-130' is not a key"):
        load_ruleset("national-2020")


def test_a_source_has_a_known_kind_and_says_how_it_was_read(tariffs_copy):
    path = tariffs_copy / "sources.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("    read: report\n", "    read: hearsay\n", 1), encoding="utf-8")
    with pytest.raises(InputError, match="sources.yaml: sources.ndrc-nea-2020-1479.read is 'hearsay'; allowed: text, report, none"):
        load_sources()


def test_the_manifests_sources_merge_down_the_layers():
    assert load_ruleset("shandong-2019").sources == ("psbr-1996", "shandong-2018-plan", "shandong-2019-opinions")
    assert load_ruleset("national-2025").sources == ("psbr-1996", "ndrc-nea-2020-1479", "gbh-2020-129", "psbr-2024",
                                                     "ndrc-nea-2025-opinion")


def _shipped_references() -> list[tuple[str, Reference]]:
    """Every citation the tariffs ship: rule sets (parameters, their values, rules, fees), the design scheme, the
    World Bank case, the Steiner import conventions and the reforms."""
    found = []

    def parameters(where: str, items: dict[str, Parameter]):
        for path, parameter in items.items():
            found.extend((f"{where} {path}<{d}>", parameter.reference_at(i)) for i, d in enumerate(parameter.dates))

    for ruleset_id in available_rulesets():
        ruleset = load_ruleset(ruleset_id)
        parameters(ruleset_id, ruleset.parameters)
        for table in ruleset.decisions.values():
            found += [(f"{ruleset_id} {item.id}", item.cites) for item in getattr(table, "rules", getattr(table, "fees", ()))]
            found += [(f"{ruleset_id} {fee.id} refund", fee.refund) for fee in getattr(table, "fees", ()) if fee.refund is not None]
    found += [(f"price index nbs-ppi {year}", reference) for year, reference in load_price_index("nbs-ppi").references.items()]
    found += [(f"abolished charge {charge.id}", charge.clause) for charge in abolished_charges()]
    parameters("scheme", load_scheme(load_ruleset("national-1996").design_scheme).parameters)
    for name in available_reforms():
        parameters(f"reform {name}", load_reform(name).parameters)
    for where, raw in (("doing-business", tariffs_dir() / "doing-business/case.yaml"),
                       ("steiner-import", tariffs_dir() / "grid/steiner-import.yaml"),
                       ("network-import", tariffs_dir() / "grid/network-import.yaml")):
        for name, entry in load_yaml(raw)["parameters"].items():
            parameters(where, {name: Parameter.from_yaml(name, entry, raw)})
    found.append(("national portfolio weights", weights_reference()))
    return found


def test_every_shipped_citation_names_a_source_and_every_source_is_used():
    references = _shipped_references()
    sources = load_sources()
    assert len(references) > 80
    assert {where for where, reference in references if reference.key not in sources or reference.quoted is None} == set()
    manifests = {key for ruleset_id in available_rulesets() for key in load_ruleset(ruleset_id).sources}
    assert set(sources) - {reference.key for _, reference in references} - manifests == set()
    # the loaders that serve these to a quote read them too
    assert case_parameters(dt.date(2019, 5, 6))["capacity_kva"]["reference"].startswith("World Bank, Doing Business methodology")
    assert "(paraphrase) [practice]" in steiner_import_defaults()["km_per_weight"]["reference"]


def test_a_quote_is_only_where_the_text_or_a_verbatim_report_of_it_was_read():
    quoted = {reference.key for _, reference in _shipped_references() if reference.quoted}
    # the texts read, and the news reports (issue 19) whose own words are quoted: each document was read itself
    assert quoted == {"psbr-1996", "psbr-2024", "gbh-2020-129", "ndrc-2017-1895", "beijing-2018-125", "beijing-2020-2",
                      "shanghai-daily-2018-05-22", "chinadaily-2018-02-13-beijing", "xjb-2019-10-24-beijing", "xinhua-2017-temporary-fee", "nbs-ppi-annual"}
    assert all(load_sources()[key].read == "text" for key in quoted)
