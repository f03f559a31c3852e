"""How an agent runtime wires csm-rules into its multi-agent system.

The host keeps its accounts in Notion (the TAM agent writes ``Health Status`` there), has its own
event bus, Gmail and chat clients, and a Sales Agent that takes ``dispatch_*`` tasks. This example
plugs each of them into the CSM's protocols and runs the main job once or on the CSMScheduler:

    NOTION_TOKEN=… CSM_NOTION_ACCOUNTS_DB=… CSM_NOTION_QBR_DB=… python examples/host_agent.py --once
    NOTION_TOKEN=… CSM_NOTION_ACCOUNTS_DB=… python examples/host_agent.py          # daily schedule

Set ANTHROPIC_API_KEY to have Claude write the texts (the templates remain the fallback). The Gmail
side only ever creates drafts: there is no send anywhere in csm-rules.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from csm_rules import load_config
from csm_rules.jobs.scan import ScanReport, scan
from csm_rules.jobs.scheduler import CSMScheduler
from csm_rules.local.qbr_store import JsonlCompletedQBRStore
from csm_rules.local.sinks import draft_to_email
from csm_rules.narration import Narrator, TemplateNarrator
from csm_rules.notion import NotionCSMAdapter, RateLimiter
from csm_rules.outputs.channels import ChatMessage, DraftEmail, PublishedEvent, Sinks
from csm_rules.outputs.expansion_tasks import ExpansionTask


@dataclass
class HostEventBus:
    """Stands in for the host's event bus client: ``publish(stream, data)`` onto named streams."""

    streams: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def publish(self, event: PublishedEvent) -> None:
        """The EventSink protocol: forward to the bus."""
        self.streams.setdefault(event.stream, []).append(event.data)


@dataclass
class GmailDrafts:
    """Stands in for the host's Gmail wrapper, which calls ``users.drafts.create`` — drafts only."""

    drafts: list[bytes] = field(default_factory=list)

    def create_draft(self, draft: DraftEmail) -> None:
        """The DraftSink protocol: a raw RFC 5322 message, as the Gmail API takes it."""
        self.drafts.append(draft_to_email(draft, from_address="csm-agent@example.com").as_bytes())


@dataclass
class ChatClient:
    """Stands in for the host's chat client (Slack, Teams…)."""

    posts: list[ChatMessage] = field(default_factory=list)

    def post(self, message: ChatMessage) -> None:
        """The ChatSink protocol."""
        self.posts.append(message)


@dataclass
class SalesAgentQueue:
    """Stands in for the Sales Agent's task queue: the CSM → Sales hand-off, idempotent by key."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def dispatch(self, task: ExpansionTask) -> str:
        """The ExpansionDispatcher protocol: ``dispatched`` once per idempotency key, then ``duplicate``."""
        if task.idempotency_key in self.seen:
            return "duplicate"
        self.seen.add(task.idempotency_key)
        self.tasks.append(task.to_task())
        return "dispatched"


@dataclass
class CSMAgent:
    """The CSM agent as the host runs it."""

    adapter: NotionCSMAdapter
    narrator: Narrator
    events: HostEventBus
    gmail: GmailDrafts
    chat: ChatClient
    sales: SalesAgentQueue
    state_dir: Path

    def run(
        self, as_of: date, *, steps: Sequence[str] = ("health", "alerts", "expansions", "qbrs")
    ) -> ScanReport:
        """One pass of the main job: Notion in, Notion + the host's channels out."""
        return scan(
            self.adapter,
            as_of=as_of,
            config=load_config(),
            narrator=self.narrator,
            sinks=Sinks(health=self.adapter, events=self.events, drafts=self.gmail, chat=self.chat),
            dispatcher=self.sales,
            qbr_writer=self.adapter,
            qbr_store=JsonlCompletedQBRStore(self.state_dir / "completed_qbrs.jsonl"),
            steps=set(steps),
        )

    def close(self) -> None:
        """Close the Notion client."""
        self.adapter.close()

    def scheduler(self, *, timezone: str = "UTC") -> CSMScheduler:
        """The daily health scan, the daily QBR check and the quarterly QBR run."""
        return CSMScheduler(
            health_scan=lambda as_of: self.run(as_of, steps=("health", "alerts", "expansions")),
            qbr_check=lambda as_of: self.run(as_of, steps=("qbrs",)),
            timezone=timezone,
        )


def build_agent(
    environ: Mapping[str, str] | None = None, *, state_dir: Path, limiter: RateLimiter | None = None
) -> CSMAgent:
    """Wire the agent from the environment (NOTION_TOKEN, CSM_NOTION_ACCOUNTS_DB, CSM_NOTION_QBR_DB)."""
    adapter = NotionCSMAdapter.from_env(environ, limiter=limiter)
    narrator: Narrator = TemplateNarrator()
    env = environ if environ is not None else {}
    if env.get("ANTHROPIC_API_KEY"):
        from csm_rules.narration import ClaudeNarrator

        narrator = ClaudeNarrator(fallback=TemplateNarrator())
    return CSMAgent(
        adapter, narrator, HostEventBus(), GmailDrafts(), ChatClient(), SalesAgentQueue(), state_dir
    )


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run once (``--once``) or on the schedule until interrupted."""
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--once", action="store_true", help="run the main job once and exit")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    parser.add_argument("--state", default="csm-state", help="folder for the CSM's own state")
    parser.add_argument("--timezone", default="UTC")
    args = parser.parse_args(argv)
    agent = build_agent(environ if environ is not None else os.environ, state_dir=Path(args.state))
    try:
        if args.once:
            report = agent.run(args.as_of or date.today())
            print(
                f"{report.accounts_scored} accounts scored, {report.alerts_delivered} alerts, "
                f"{report.expansion_tasks_dispatched} Sales tasks, {report.qbrs_written} QBR pages, "
                f"{len(report.failures)} failures"
            )
            return 0
        return 0 if agent.scheduler(timezone=args.timezone).start(blocking=True) else 2
    finally:
        agent.close()


if __name__ == "__main__":
    sys.exit(main())
