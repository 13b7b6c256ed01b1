"""costmodel: what a grid connection costs and who pays for each part of it."""

__version__ = "0.1.0"
