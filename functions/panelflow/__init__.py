"""Panelflow core: turns a story into an illustrated, narrated comic.

This package is copied into every function's deploy bundle; it must import
nothing heavy at module level so cold starts stay fast.
"""

__version__ = "0.1.0"
