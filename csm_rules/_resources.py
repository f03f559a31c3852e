"""Locate the data files shipped with the package (config defaults, narrator templates, samples).

In a wheel they live in ``csm_rules/_data/``; in a source checkout (editable install) they sit at
the repository root, beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_path(name: str) -> Path:
    """Path of a shipped data file or folder (``weights.yaml``, ``thresholds.yaml``, ``narrators``)."""
    packaged = _PACKAGE_DIR / "_data" / name
    if packaged.exists():
        return packaged
    return _PACKAGE_DIR.parent / name
