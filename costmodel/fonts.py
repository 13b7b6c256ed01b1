"""The CJK font every Chinese chart and the PDF use, found by file path (not by a family name that may or may
not be registered): COSTMODEL_CJK_FONT, then the files of Debian's CJK font packages."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

CJK_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
)


def find_cjk_font() -> Path | None:
    """The first CJK font file present, or None."""
    for candidate in (os.environ.get("COSTMODEL_CJK_FONT"), *CJK_FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def matplotlib_cjk_family() -> str | None:
    """The CJK font file registered with matplotlib, as the family name its text then asks for (None without one)."""
    path = find_cjk_font()
    return None if path is None else _registered(str(path))


@lru_cache(maxsize=4)
def _registered(path: str) -> str:
    """Register a font file with matplotlib once (each chart would read it again), and give its family name."""
    from matplotlib import font_manager

    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()
