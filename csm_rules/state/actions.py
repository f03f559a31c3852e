"""The action being performed, for sinks that can remember it (exactly once across a crash).

The scan claims every action in the state store before performing it (see :mod:`csm_rules.state.store`).
A claim whose worker died is retried once its lease expires; whether the dead worker's write landed is
unknown. A sink that can look its own output up (the local files do) reads :func:`current_action_key`
while it writes, stores the key beside the record and skips a record whose key it already holds — so a
retry after a crash writes nothing twice. Sinks that cannot (a chat webhook) deliver at least once.

Example::

    with performing("alert:acc-1:2026-11-25:chat"):
        sinks.chat.post(message)   # the local chat file records the key with the line
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_action_key", "performing"]

_CURRENT: ContextVar[str | None] = ContextVar("csm_rules_action_key", default=None)


def current_action_key() -> str | None:
    """The claim key of the action being performed in this context, or None outside a scan's action."""
    return _CURRENT.get()


@contextmanager
def performing(key: str) -> Iterator[None]:
    """Make ``key`` the current action key for the duration of the block."""
    token = _CURRENT.set(key)
    try:
        yield
    finally:
        _CURRENT.reset(token)
