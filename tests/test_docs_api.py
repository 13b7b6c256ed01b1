"""docs/api.md: every Python block runs, in order, against the app in-process (its client swapped in)."""

import re
from pathlib import Path

from fastapi.testclient import TestClient

from costmodel.api import create_app

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
CLIENT_LINE = 'client = httpx.Client(base_url="http://127.0.0.1:8000", timeout=30)'


def test_the_api_session_in_the_docs_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 5 and CLIENT_LINE in blocks[0]
    with TestClient(create_app()) as client:
        namespace = {"in_process": client}
        for block in blocks:  # one namespace, as in one interpreter session
            exec(compile(block.replace(CLIENT_LINE, "client = in_process"), str(DOC), "exec"), namespace)
    printed = capsys.readouterr().out
    assert "shandong-2019+national-1996 low_voltage meter" in printed
