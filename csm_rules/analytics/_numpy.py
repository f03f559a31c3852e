"""The guarded numpy import of the ``analytics`` extra."""

from __future__ import annotations

import importlib.util

from csm_rules.errors import MissingExtraError

__all__ = ["has_numpy", "require_numpy"]


def has_numpy() -> bool:
    """True when numpy (the ``analytics`` extra) can be imported."""
    return importlib.util.find_spec("numpy") is not None


def require_numpy() -> None:
    """Raise :class:`MissingExtraError` with the install hint when numpy is not installed."""
    if not has_numpy():
        raise MissingExtraError("numpy", "analytics")
