"""Running the CLI in a subprocess for the reliability tests: to completion, or interrupted (SIGINT)
while it writes a chosen output, just before that output's rename (the costmodel.files test hook)."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from costmodel.files import PAUSE_ENV, PAUSE_MARK

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SMALL_PORTFOLIO = EXAMPLES / "portfolios" / "small.csv"
COMMAND = [sys.executable, "-c", "from costmodel.cli import main; main()"]


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop(PAUSE_ENV, None)
    env.update(extra or {})
    return env


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=_env(env))


def interrupt_while_writing(pattern: str, *args: str, cwd: Path | None = None, timeout: float = 300) -> tuple[int, str]:
    """Run the CLI; when it is about to rename its output whose name matches `pattern` into place, send
    SIGINT. Returns the exit code and stderr."""
    process = subprocess.Popen([*COMMAND, *map(str, args)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True, cwd=cwd, env=_env({PAUSE_ENV: pattern}))
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr] + [lines.put(None)], daemon=True).start()
    seen = []
    try:
        while True:
            line = lines.get(timeout=timeout)
            if line is None:
                raise AssertionError(f"the CLI ended (code {process.wait()}) without writing {pattern}:\n{''.join(seen)}")
            seen.append(line)
            if PAUSE_MARK in line:
                break
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    rest = []
    while (line := lines.get(timeout=10)) is not None:
        rest.append(line)
    return code, "".join(seen + rest)


def leftovers(folder: Path) -> list[str]:
    """Temporary files of the atomic writer left in a folder (there must be none)."""
    return sorted(p.name for p in Path(folder).rglob(".*.tmp*"))
