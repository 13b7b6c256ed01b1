"""scikit-learn is an optional extra: quoting never loads it, and the range commands say what to install."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from costmodel.errors import InputError


def test_quoting_and_the_cli_do_not_load_scikit_learn():
    code = "import sys, costmodel.quote, costmodel.cli, costmodel.api; print('sklearn' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_without_scikit_learn_the_message_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # an import of it fails, as when it is not installed
    monkeypatch.delitem(sys.modules, "costmodel.ranges.model", raising=False)
    with pytest.raises(InputError, match=r"budget ranges need scikit-learn: pip install 'costmodel\[ranges\]'"):
        importlib.import_module("costmodel.ranges.model")
