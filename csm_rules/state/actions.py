"""The action being performed, for sinks that can remember it (exactly once across a crash).

The scan claims every action in the state store before performing it (see :mod:`csm_rules.state.store`).
A claim whose worker died is retried once its lease expires; whether the dead worker's write landed is
unknown. A sink that can look its own output up (the local files do) reads :func:`current_action_key`
while it writes, stores the key beside the record and skips a record whose key it already holds — so a
retry after a crash writes nothing twice. Sinks that cannot (a chat webhook) deliver at least once.

The scan also says which attempt at the action this is and whether its state store is new
(:func:`key_is_new`): a key on its first claim in a store that remembers earlier scans cannot be in any
output yet, so a sink may append without looking it up — and needs to hold no index of its keys,
whatever the size of its files. A store created by this run (a first run, or lost state) vouches for
nothing that an output held before: such an output is looked up as after a crash.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_action_key", "key_is_new", "performing"]

_CURRENT: ContextVar[str | None] = ContextVar("csm_rules_action_key", default=None)
_ATTEMPT: ContextVar[tuple[int, bool] | None] = ContextVar("csm_rules_action_attempt", default=None)


def current_action_key() -> str | None:
    """The claim key of the action being performed in this context, or None outside a scan's action."""
    return _CURRENT.get()


def key_is_new(*, output_had_records: bool) -> bool:
    """True when the current action's key cannot be in an output yet, so the output need not look it up.

    That is: the state store granted its first claim of the key, and either the store remembers earlier
    scans or the output held nothing before this process wrote to it (``output_had_records`` False).
    False outside a scan's action and whenever the caller did not give the attempt: assume a retry.
    """
    attempt = _ATTEMPT.get()
    if _CURRENT.get() is None or attempt is None:
        return False
    number, fresh_state = attempt
    return number == 1 and not (fresh_state and output_had_records)


@contextmanager
def performing(key: str, *, attempt: int | None = None, fresh_state: bool = False) -> Iterator[None]:
    """Make ``key`` the current action key for the duration of the block.

    ``attempt`` is the claim's attempt number given by the state store (1: never claimed before), and
    ``fresh_state`` says the store was created by this run (see :func:`key_is_new`).
    """
    token = _CURRENT.set(key)
    attempt_token = _ATTEMPT.set(None if attempt is None else (attempt, fresh_state))
    try:
        yield
    finally:
        _ATTEMPT.reset(attempt_token)
        _CURRENT.reset(token)
