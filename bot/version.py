"""The installed version of CommandCenter (``--version``, build info, Home Assistant)."""

from __future__ import annotations

from functools import cache


@cache
def version() -> str:
    """The package version from its metadata; ``0+unknown`` when run from a bare tree."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("commandcenter")
    except PackageNotFoundError:
        return "0+unknown"
