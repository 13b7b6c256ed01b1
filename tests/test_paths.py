"""One tariffs root for every reader, and loader caches that never serve another root's data.

The park factory (examples/applications/municipal-park-factory.yaml) is an `industry` enterprise with
350 employees and 12,000 (10k CNY) revenue. MIIT 2011, industry: medium needs >= 300 employees and
>= 2,000 revenue, small >= 20 and >= 300. So it is medium under the shipped table, and small once the
medium bound is 400 employees (fixture tariffs_industry_medium_400).
"""

from costmodel.application import load_application
from costmodel.params import load_ruleset
from costmodel.paths import ENV_VAR, tariffs_dir, tariffs_dir_problem
from costmodel.quote import quote_application
from tests_support import EXAMPLES

FACTORY = EXAMPLES / "municipal-park-factory.yaml"


def _size_class() -> str:
    return quote_application(load_application(FACTORY), load_ruleset("shandong-2019")).enterprise_size


def test_the_tariffs_root_from_the_environment_decides_the_size_class_and_caches_follow_it(
        tariffs_industry_medium_400, monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert _size_class() == "medium"  # loaders and their caches filled from the shipped root
    monkeypatch.setenv(ENV_VAR, str(tariffs_industry_medium_400))
    assert tariffs_dir() == tariffs_industry_medium_400
    assert _size_class() == "small"  # no cache cleared in between
    monkeypatch.delenv(ENV_VAR)
    assert _size_class() == "medium"


def test_what_a_tariffs_root_must_hold(tmp_path):
    assert tariffs_dir_problem(tmp_path / "absent") == "does not exist"
    (tmp_path / "file").write_text("x")
    assert tariffs_dir_problem(tmp_path / "file") == "is not a folder"
    assert tariffs_dir_problem(tmp_path) == "holds no rulesets/ folder"
    (tmp_path / "rulesets").mkdir()
    assert tariffs_dir_problem(tmp_path) is None
