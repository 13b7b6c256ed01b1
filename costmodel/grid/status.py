"""Optimiser statuses as reported, and a solver kept off stdout.

"optimal" only when the proven gap is within the default tolerance of the problem, whatever `--gap` the run
stopped at; a design with a larger (or unknown) gap is "feasible", and the report says why the run stopped
(time_limit: out of time; gap_limit: within the gap asked for) and the gap as a percentage.
"""

from __future__ import annotations

import ctypes
import os
import sys
from contextlib import contextmanager

NETWORK_GAP = 0.005  # default relative gap for a network folder (`optimize DIR --gap`)
STEINER_GAP = 0.0  # a Steiner instance (.gr) is solved to proven optimality by default
AC_ROUNDS = 5  # round limit of solve, AC check and tightening (`optimize --ac-rounds`; the 12 x 12 park passes in 2)
_EPSILON = 1e-9

OPTIMAL, FEASIBLE = "optimal", "feasible"


def status_of(gap: float | None, tolerance: float) -> str:
    """optimal when the gap is known and within `tolerance`, else feasible."""
    return OPTIMAL if gap is not None and gap <= tolerance + _EPSILON else FEASIBLE


def summary(status: str, gap: float | None) -> str:
    """'optimal', 'feasible, gap 3.21 %', 'feasible, gap unknown (no bound)', or the status itself."""
    if status != FEASIBLE:
        return status
    return f"feasible, gap {gap * 100:.2f} %" if gap is not None else "feasible, gap unknown (no bound proven)"


@contextmanager
def stdout_to_stderr():
    """Everything written to file descriptor 1 inside the block (a solver's banner and log, written by C code
    past Python's sys.stdout) goes to stderr instead, so a command's stdout carries only its own output."""
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all
        yield
        return
    _flush()
    try:
        os.dup2(2, 1)
        yield
    finally:
        _flush()
        os.dup2(saved, 1)
        os.close(saved)


def _flush() -> None:
    try:
        sys.stdout.flush()
    except (AttributeError, ValueError, OSError):
        pass
    try:
        ctypes.CDLL(None).fflush(None)  # C stdio buffers (printf, std::cout)
    except (OSError, AttributeError):
        pass
