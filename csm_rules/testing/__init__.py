"""Test support shipped with the library, for this project's CI and the host agents' CI.

- :class:`FakeNotionServer` — a loopback fake of the Notion API (limits enforced, faults injectable).
- :class:`FakeMessagesServer` — a loopback fake of Anthropic's Messages API with scripted replies.
- :class:`FunctionNarrator` — a narrator double whose texts come from your function.
- :class:`MemorySinks` — in-memory sinks that record what they receive and can be told to fail.
- ``csm_rules.testing.strategies`` — hypothesis strategies (extra ``testing``; imported on its own so
  that this package does not need hypothesis).
- ``csm_rules.testing.portfolio_generator`` — seeded synthetic portfolios with a latent churn process.
"""

from __future__ import annotations

from csm_rules.testing.fake_anthropic import FakeMessagesServer, FakeReply, RecordedRequest
from csm_rules.testing.fake_notion import (
    CSMWorkspace,
    FakeDatabase,
    FakeNotionServer,
    Fault,
    LoggedRequest,
    seed_csm_workspace,
)
from csm_rules.testing.narrators import FunctionNarrator, NarrationCall
from csm_rules.testing.sinks import MemorySinks

__all__ = [
    "CSMWorkspace",
    "FakeDatabase",
    "FakeMessagesServer",
    "FakeNotionServer",
    "FakeReply",
    "Fault",
    "FunctionNarrator",
    "LoggedRequest",
    "MemorySinks",
    "NarrationCall",
    "RecordedRequest",
    "seed_csm_workspace",
]
