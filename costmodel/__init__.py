"""costmodel: what a grid connection costs and who pays for each part of it."""

import os

# NumPy asks the kernel for transparent huge pages on every array of 4 MB or more. Where the kernel
# compacts memory on such a fault (THP defrag "madvise", a common default), a million-row study spent
# 2-3 s of system time in compaction for no gain. Set before NumPy loads; an explicit setting wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")

__version__ = "0.1.0"
