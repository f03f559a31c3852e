"""Segment names in weights.yaml that no account will ever match: typos reported, not silently defaulted.

An account is scored with a ``segments:`` weight set when its ``segment`` equals the set's name (any case);
otherwise the default ``weights`` apply, without error. So ``enterprize:`` passes the schema while every
enterprise account quietly uses the default weights. The rule, in two places:

- ``csm-rules validate`` (no portfolio): a configured name that is not in :data:`DOCUMENTED_SEGMENTS` but
  close to one of them is reported with a did-you-mean; with ``--portfolio``, a configured name that no
  account of that portfolio carries is reported, naming the close account segment when there is one.
- ``scan`` and ``score``: a configured name that no account carries while accounts carry a close name is
  reported as a warning (the accounts are still scored, with the default weights).

Names that are merely unusual are not reported: a company may call its segments what it likes.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Mapping

__all__ = ["DOCUMENTED_SEGMENTS", "segment_warnings", "unmatched_with_close_name"]

#: Segment names most CRMs use (docs/security.md). A configured name close to one is a likely typo.
DOCUMENTED_SEGMENTS = (
    "enterprise",
    "strategic",
    "mid-market",
    "commercial",
    "smb",
    "startup",
    "public-sector",
)


def segment_warnings(configured: Iterable[str], seen: Iterable[str | None] | None = None) -> list[str]:
    """Warnings for the configured segment names (``weights.yaml`` ``segments:`` keys).

    ``seen`` is every account's ``segment`` in a portfolio (None: no portfolio, compare with the
    documented names). With ``seen``, only names no account carries are reported.
    """
    if seen is None:
        problems = []
        for name in configured:
            lowered = name.lower()
            close = _close(lowered, DOCUMENTED_SEGMENTS)
            if lowered not in DOCUMENTED_SEGMENTS and close is not None:
                problems.append(
                    f"weights.yaml segment {name!r} is not a documented segment name; did you mean {close!r}?"
                )
        return problems
    counts = Counter(s.lower() for s in seen if s)
    return [warning for name in configured if (warning := _unmatched(name, counts)) is not None]


def unmatched_with_close_name(configured: Iterable[str], seen: Iterable[str | None]) -> list[str]:
    """The scan/score warnings: configured names no account carries while accounts carry a close name."""
    counts = Counter(s.lower() for s in seen if s)
    return [
        warning
        for name in configured
        if name.lower() not in counts
        and _close(name.lower(), counts) is not None
        and (warning := _unmatched(name, counts)) is not None
    ]


def _unmatched(name: str, counts: Mapping[str, int]) -> str | None:
    lowered = name.lower()
    if lowered in counts:
        return None
    close = _close(lowered, counts)
    if close is None:
        return f"weights.yaml segment {name!r} matches no account"
    return (
        f"weights.yaml segment {name!r} matches no account, while {counts[close]} account(s) carry segment "
        f"{close!r} and are scored with the default weights; a typo?"
    )


def _close(name: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return matches[0] if matches else None
