"""The installed riskmodel's version, read once from the package metadata (pyproject.toml).

It sits in the lowest layer so that any module can record the version (``summary.json``,
``results.nc``, reports) without importing the package root.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("riskmodel")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
