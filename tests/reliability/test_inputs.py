"""Issue 22: every bad input file gives a message naming the file, the place, the value and what is allowed;
never a traceback. Application/YAML files, any YAML the project reads, and rule-set structure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from costmodel.errors import InputError
from costmodel.params import load_ruleset
from costmodel.yamlio import MAX_DEPTH, MAX_VALUES, MAX_YAML_BYTES, load_yaml, load_yaml_text, quoted

REPO = Path(__file__).resolve().parents[2]
SHOP = (REPO / "examples" / "applications" / "micro-shop.yaml").read_text(encoding="utf-8")


def cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The CLI of this checkout in a subprocess."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "2000", **(env or {})}  # no wrapped messages
    environment.pop("COSTMODEL_DEBUG", None)
    return subprocess.run([sys.executable, "-c", "from costmodel.cli import main; main()", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, env=environment)


def refused(result: subprocess.CompletedProcess, *expected: str) -> str:
    """A failed run whose message holds every expected text, without a traceback; the message, one line."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output and 'File "' not in output, output
    message = " ".join(result.stderr.split())  # rich wraps long lines
    for text in expected:
        assert " ".join(text.split()) in message, (text, message)
    return message


def yaml_error(text: str) -> str:
    with pytest.raises(InputError) as error:
        load_yaml_text(text, "some.yaml")
    message = str(error.value)
    assert message.startswith("some.yaml: ")
    return message


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + "\nid: bomb\n"


# ---------------------------------------------------------------------------- application files (CLI)

def test_deep_nesting_names_file_line_and_limit(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("id: x\nsite: " + "[" * 5000 + "]" * 5000 + "\n")
    refused(cli("quote", str(path)), str(path), "line 2", f"nested deeper than {MAX_DEPTH} levels", f"at most {MAX_DEPTH}")


def test_non_string_key_names_file_line_and_kind(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text("id: x\n? [1, 2]\n: b\n")
    refused(cli("quote", str(path)), str(path), "key at line 2 is a list", "keys that are strings, numbers or dates")


def test_directory_as_application(tmp_path):
    refused(cli("quote", str(tmp_path)), str(tmp_path), "is a directory; expected an application file")


def test_json_application_files_take_the_same_guards(tmp_path):
    folder = tmp_path / "x.json"
    folder.mkdir()
    refused(cli("quote", str(folder)), str(folder), "is a directory; expected an application file")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 5000 + "]" * 5000)
    refused(cli("quote", str(deep)), str(deep), f"at most {MAX_DEPTH} levels")
    huge = tmp_path / "huge.json"
    huge.write_text('{"id": "' + "x" * (2 << 20) + '"}')
    refused(cli("quote", str(huge)), str(huge), "bytes")


def test_device_as_application():
    refused(cli("quote", "/dev/zero", timeout=60), "/dev/zero", "is not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_as_application_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    refused(cli("quote", str(fifo), timeout=60), str(fifo), "is not a regular file")


def test_markup_in_a_key_is_shown_literally(tmp_path):
    path = tmp_path / "markup.yaml"
    path.write_text(SHOP.replace("id: micro-shop", 'id: micro-shop\n"[bold red]x[/]": 1'))
    message = refused(cli("quote", str(path)), str(path), "[bold red]x[/]")
    assert "Extra inputs" in message or "not permitted" in message or "unknown" in message


def test_markup_in_an_id_is_quoted_literally(tmp_path):
    path = tmp_path / "markup-id.yaml"
    path.write_text(SHOP.replace("id: micro-shop", 'id: "[/][bold]shop <script>"'))
    result = cli("quote", str(path), "--ruleset", "shandong-2019")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


def test_alias_bomb_is_refused_quickly_with_a_short_message(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    message = refused(cli("quote", str(path), timeout=60), str(path), f"more than {MAX_VALUES:,} values once aliases are expanded")
    assert len(message) < 500


def test_huge_application_file(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_text(SHOP + "#" * (2 << 20) + "\n")
    refused(cli("quote", str(path)), str(path), "bytes; an application file is at most")


# ----------------------------------------------------------------------- any YAML the project reads

def test_alias_bomb_in_any_yaml():
    assert f"more than {MAX_VALUES:,} values" in yaml_error(alias_bomb(12))


def test_alias_into_its_own_container():
    assert "an alias refers to the value that contains it" in yaml_error("a: &a [1, *a]\n")


def test_mapping_key_and_null_key():
    assert "key at line 1 is a mapping" in yaml_error("{a: 1}: 2\n")
    assert "key None at line 1 is a NoneType" in yaml_error("~: 2\n")
    assert "key True at line 2 is a bool" in yaml_error("a: 1\nyes: 2\n")


def test_nesting_at_the_limit_is_read():
    assert load_yaml_text("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1), "x") is not None


def test_huge_yaml_file(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n" + b"#" * MAX_YAML_BYTES)
    with pytest.raises(InputError, match=re.escape(f"{path}: {MAX_YAML_BYTES + 5:,} bytes; a YAML file is at most")):
        load_yaml(path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("id: caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InputError, match=re.escape(f"{path}: not UTF-8 text")):
        load_yaml(path)


def test_quoted_values_are_capped():
    text = quoted(list(range(100_000)))
    assert len(text) < 200 and text.endswith("characters)")


# ------------------------------------------------------------------------------------ rule sets

RULESET = "rulesets/shandong-2019"


@pytest.fixture
def tariffs(tariffs_copy):
    load_ruleset.cache_clear()
    yield tariffs_copy
    load_ruleset.cache_clear()


def edit(root: Path, file: str, old: str, new: str) -> Path:
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, (file, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def ruleset_error(ruleset_id: str = "shandong-2019") -> str:
    with pytest.raises(InputError) as error:
        load_ruleset(ruleset_id)
    return str(error.value)


def test_extends_cycle(tariffs):
    path = edit(tariffs, "rulesets/shandong-2018/manifest.yaml", "extends: national-1996", "extends: shandong-2019")
    message = ruleset_error()
    assert str(path) in message and "extends 'shandong-2019', a cycle (shandong-2019 -> shandong-2018 -> shandong-2019)" in message


def test_extends_itself(tariffs):
    edit(tariffs, f"{RULESET}/manifest.yaml", "extends: shandong-2018", "extends: shandong-2019")
    assert "a cycle (shandong-2019 -> shandong-2019)" in ruleset_error()


def test_extends_cycle_through_the_cli(tariffs):
    edit(tariffs, "rulesets/shandong-2018/manifest.yaml", "extends: national-1996", "extends: shandong-2019")
    refused(cli("params", "shandong-2019", env={"COSTMODEL_TARIFFS": str(tariffs)}), "shandong-2018/manifest.yaml",
            "a cycle", "allowed: a chain of rule sets that ends in one extending nothing")


def test_extends_unknown_rule_set(tariffs):
    path = edit(tariffs, f"{RULESET}/manifest.yaml", "extends: shandong-2018", "extends: shandong-2017")
    message = ruleset_error()
    assert str(path) in message and "extends 'shandong-2017', which is not a rule set; allowed: beijing-2018, beijing-2020" in message


def test_extends_a_folder_without_manifest(tariffs):
    (tariffs / "rulesets/shandong-2018/manifest.yaml").unlink()
    assert "extends 'shandong-2018', which is not a rule set" in ruleset_error()


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("extends: shandong-2018", "extends: [shandong-2018]", "extends must be a non-empty string, got list ['shandong-2018']"),
    ("id: shandong-2019", "id: 2019", "id must be a non-empty string, got int 2019"),
    ("layer: provincial", "layer: {a: 1}", "layer must be a non-empty string, got dict {'a': 1}"),
    ("sources: [shandong-2019-opinions]", "sources: [shandong-2019-opinions]\nwithdraws: 5", "withdraws must be a list of strings, got int 5"),
    ("sources: [shandong-2019-opinions]", "sources: [shandong-2019-opinions]\nnot_found: {a: 1}", "not_found must be a list of strings, got dict"),
], ids=["extends-list", "id-number", "layer-mapping", "withdraws-number", "not_found-mapping"])
def test_manifest_value_types(tariffs, old, new, expected):
    path = edit(tariffs, f"{RULESET}/manifest.yaml", old, new)
    message = ruleset_error()
    assert str(path) in message and expected in message


BOUNDARY = f"{RULESET}/decisions/investment_boundary.yaml"


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("id: boundary.zero_investment_small_micro", "id: 17", "rule 1: id must be a non-empty string, got int 17"),
    ("exception_to: boundary.point_of_connection", "exception_to: [a]", "exception_to must be a non-empty string, got list ['a']"),
    ("then: meter", "then: [meter]", "then must be one outcome (a label), got list ['meter']"),
    ("    when:\n      - {field: applicant_kind, eq: enterprise}\n      - {field: enterprise_size, in: {param: zero_investment.enterprise_sizes}}\n"
     "      - {field: supply_voltage, eq: low_voltage}\n", "    when: {field: supply_voltage, eq: low_voltage}\n",
     "when must be a list of conditions, got dict"),
    ("amends: investment_boundary", "amends: [investment_boundary]", "amends must be a non-empty string, got list"),
    ("amends: investment_boundary", "amends: investment_boundary\nremove: 5", "remove must be a list of strings, got int 5"),
    ("priority: [boundary.zero", "priority: [[a], boundary.zero", "priority must be a list of strings; item ['a'] is a list"),
], ids=["rule-id-number", "exception_to-list", "then-list", "when-mapping", "amends-list", "remove-number", "priority-nested"])
def test_amendment_value_types(tariffs, old, new, expected):
    path = edit(tariffs, BOUNDARY, old, new)
    message = ruleset_error()
    assert str(path) in message and expected in message


def test_amendment_rules_a_mapping():
    from costmodel.rules.table import Amendment

    with pytest.raises(InputError, match=re.escape("amend.yaml: rules must be a list of rules, got {'a': 1}")):
        Amendment.from_yaml({"amends": "investment_boundary", "rules": {"a": 1}}, Path("amend.yaml"))


def test_decision_table_outcomes_mapping(tariffs):
    path = tariffs / "rulesets/national-1996/decisions/supply_voltage.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("outcomes:")
    end = text.index("\n", start)
    path.write_text(text[:start] + "outcomes: {a: 1}" + text[end:], encoding="utf-8")
    message = ruleset_error("national-1996")
    assert str(path) in message and "outcomes must be a non-empty list of labels, got {'a': 1}" in message


def test_decision_file_that_is_a_list(tariffs):
    path = tariffs / f"{RULESET}/decisions/supply_voltage.yaml"
    path.write_text("- 1\n- 2\n")
    message = ruleset_error()
    assert str(path) in message and "expected a mapping, got list [1, 2]" in message


def test_parameter_of_mixed_kinds(tariffs):
    path = edit(tariffs, f"{RULESET}/parameters/supply_voltage/low_voltage_cap.yaml", "{urban: 160, rural: 100}",
                "{urban: big, rural: 100}")
    message = ruleset_error()
    assert str(path) in message and "'big' is text" in message and "allowed: values of one kind" in message


def test_parameter_not_finite(tariffs):
    path = edit(tariffs, f"{RULESET}/parameters/supply_voltage/low_voltage_cap.yaml", "{urban: 160, rural: 100}",
                "{urban: .inf, rural: 100}")
    message = ruleset_error()
    assert str(path) in message and "value inf is not finite; allowed: finite numbers" in message


def test_parameter_values_a_list(tariffs):
    path = tariffs / f"{RULESET}/parameters/supply_voltage/low_voltage_cap.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:text.index("values:")] + "values: [1, 2]\n", encoding="utf-8")
    message = ruleset_error()
    assert str(path) in message and "values must map dates (YYYY-MM-DD) to values, got [1, 2]" in message


def test_missing_parameters_folder_names_the_parameter(tariffs):
    import shutil

    shutil.rmtree(tariffs / "rulesets/national-1996/parameters")
    message = ruleset_error("national-1996")
    assert "reads parameter" in message and "which rule set national-1996 lacks" in message


def test_json_under_the_same_guards(tmp_path):
    from costmodel.yamlio import load_json

    deep = tmp_path / "deep.json"
    deep.write_text('{"id": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InputError, match=re.escape(f"{deep}: nested too deeply; allowed: at most {MAX_DEPTH} levels")):
        load_json(deep)
    deep.write_text('{"id": ' + "[" * 60 + "]" * 60 + "}")
    with pytest.raises(InputError, match=re.escape(f"{deep}: nested deeper than {MAX_DEPTH} levels")):
        load_json(deep)
    with pytest.raises(InputError, match=re.escape(f"{tmp_path}: is a directory; expected a JSON file")):
        load_json(tmp_path)
    deep.write_text('{"id": ')
    with pytest.raises(InputError, match=re.escape(f"{deep}: malformed JSON at line 1")):
        load_json(deep)
    assert load_json(_write(tmp_path / "ok.json", '{"a": [[1]]}')) == {"a": [[1]]}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
