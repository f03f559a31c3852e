"""The exceptions csm-rules raises.

Every error derives from one root, and each also inherits the builtin it refines so callers that
already catch ``ValueError`` keep working::

    CsmRulesError
    ├── ConfigError(ValueError)          weights.yaml / thresholds.yaml / mapping files are invalid
    ├── SnapshotError(ValueError)        an AccountSnapshot failed validation (names account and field)
    ├── SourceError(ValueError)          a portfolio file or source could not be read
    ├── NarrationError(RuntimeError)     a narrator could not produce a text
    ├── NotionRequestError(RuntimeError) a Notion request failed for good (permanent, or retries spent)
    ├── UnconfirmedWrite(RuntimeError)   a Notion write may or may not have landed: re-read, then decide
    ├── AccountNotFoundError(LookupError) no Notion page carries this account id
    ├── CircuitOpenError(RuntimeError)   a service was skipped: its circuit breaker opened in this scan
    ├── LLMCallsDisabledError(RuntimeError)  a real LLM call was attempted while ALLOW_LLM_CALLS is False
    └── MissingExtraError(ImportError)   an optional dependency is not installed (with the install hint)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class CsmRulesError(Exception):
    """Root of every error raised by csm-rules."""


class ConfigError(CsmRulesError, ValueError):
    """A configuration file is invalid; the message names file, line and column."""

    def __init__(self, message: str, *, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


class SnapshotError(CsmRulesError, ValueError):
    """An account snapshot is invalid; the message names the account and every offending field."""

    def __init__(self, account_id: str | None, errors: Sequence[dict[str, Any]]) -> None:
        self.account_id = account_id
        self.errors: tuple[dict[str, Any], ...] = tuple(errors)
        who = f"account {account_id!r}" if account_id else "account (no account_id)"
        lines = [f"invalid snapshot for {who}:"]
        for err in self.errors:
            lines.append(f"  - {err['field']}: {err['message']}")
        super().__init__("\n".join(lines))

    @property
    def fields(self) -> tuple[str, ...]:
        """The offending field names, in the order pydantic reported them."""
        return tuple(str(e["field"]) for e in self.errors)


class SourceError(CsmRulesError, ValueError):
    """A portfolio source (file, Notion) could not be read as a whole."""


class NarrationError(CsmRulesError, RuntimeError):
    """A narrator failed to produce text (callers normally fall back to the template narrator)."""


class LLMCallsDisabledError(CsmRulesError, RuntimeError):
    """A real LLM request was attempted while ``csm_rules.narration.ALLOW_LLM_CALLS`` is False."""


class MissingExtraError(CsmRulesError, ImportError):
    """An optional dependency is missing; the message says which extra installs it."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f'{package} is not installed: pip install "csm-rules[{extra}]"')
        self.package = package
        self.extra = extra


class NotionRequestError(CsmRulesError, RuntimeError):
    """A Notion request failed for good (a permanent error, or the retry budget is spent).

    ``status`` is the HTTP status (None for timeouts and dropped connections), ``code`` Notion's error code.
    The message never contains the token: it is built from the operation and Notion's error body only.
    """

    def __init__(
        self, operation: str, message: str, *, status: int | None = None, code: str | None = None
    ) -> None:
        super().__init__(f"Notion {operation} failed: {message}")
        self.operation = operation
        self.status = status
        self.code = code


class UnconfirmedWrite(CsmRulesError, RuntimeError):
    """A non-idempotent write hit a transient failure: it may or may not have landed. Re-read, then decide."""

    def __init__(self, operation: str, cause: str) -> None:
        super().__init__(f"Notion {operation} outcome unknown: {cause}")
        self.operation = operation
        self.cause = cause


class AccountNotFoundError(CsmRulesError, LookupError):
    """No live page in the accounts database carries this account id."""

    def __init__(self, account_id: str) -> None:
        super().__init__(f"no page in the Notion accounts database has account id {account_id!r}")
        self.account_id = account_id


class CircuitOpenError(CsmRulesError, RuntimeError):
    """A call was skipped because the service's circuit breaker opened earlier in this scan."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(reason)
        self.service = service
