"""How an agent runtime wires csm-rules into its multi-agent system — with the host's real systems.

The host keeps its accounts in Notion (the TAM agent writes ``Health Status`` there), its event bus is
Redis Streams (``t:{tenant}:events:{stream}``), its chat is Google Chat (threaded webhook messages) and
its mail is Gmail — drafts only. This example plugs each into the CSM's protocols with the clients that
ship in csm-rules, and runs the main job once or on the CSMScheduler:

    NOTION_TOKEN=… CSM_NOTION_ACCOUNTS_DB=… CSM_NOTION_QBR_DB=… \
    CSM_REDIS_URL=redis://127.0.0.1:6379/0 CSM_TENANT_ID=acme \
    CSM_GOOGLE_CHAT_WEBHOOK=https://chat.googleapis.com/v1/spaces/…/messages?key=…&token=… \
    GOOGLE_APPLICATION_CREDENTIALS=gmail-compose.json \
    CSM_STATE_URL=postgresql+psycopg://csm@db/host CSM_STATE_SCHEMA=tenant_acme \
    python examples/host_agent.py --once

Each channel is optional: one whose variable is unset is reported as skipped. Set ANTHROPIC_API_KEY to
have Claude write the texts (the templates remain the fallback). Everything the CSM must remember —
verdict history, the alert cooldown, completed QBRs and a claim on every action — is in the state store:
the host's PostgreSQL (``CSM_STATE_URL``, one schema per tenant with ``CSM_STATE_SCHEMA``), so several
workers share the work and each action happens once; without it, a SQLite file in ``--state``. A
same-day re-run re-sends nothing, and QBR pages are found again by their idempotency key.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from csm_rules import load_config
from csm_rules.jobs.scan import ScanReport, scan
from csm_rules.jobs.scheduler import CSMScheduler
from csm_rules.narration import Narrator, TemplateNarrator
from csm_rules.notion import NotionCSMAdapter, RateLimiter
from csm_rules.outputs.channels import Sinks
from csm_rules.outputs.expansion_tasks import ExpansionTask
from csm_rules.sinks.gmail import COMPOSE_SCOPE, GmailDraftSink
from csm_rules.sinks.google_chat import GoogleChatSink
from csm_rules.sinks.redis_streams import RedisStreamEventSink
from csm_rules.state.store import StateStore


@dataclass
class SalesAgentQueue:
    """Stands in for the Sales Agent's task queue: the CSM → Sales hand-off, idempotent by key."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def dispatch(self, task: ExpansionTask) -> Literal["dispatched", "duplicate"]:
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
    events: RedisStreamEventSink | None
    gmail: GmailDraftSink | None
    chat: GoogleChatSink | None
    sales: SalesAgentQueue
    state: StateStore

    def run(
        self, as_of: date, *, steps: Sequence[str] = ("health", "alerts", "expansions", "qbrs")
    ) -> ScanReport:
        """One pass of the main job: Notion in; Notion, Redis Streams, Gmail drafts and Google Chat out."""
        return scan(
            self.adapter,
            as_of=as_of,
            config=load_config(),
            narrator=self.narrator,
            sinks=Sinks(health=self.adapter, events=self.events, drafts=self.gmail, chat=self.chat),
            dispatcher=self.sales,
            qbr_writer=self.adapter,  # QBR pages in Notion, found again by key: never duplicated
            state=self.state,  # history, cooldown, completed QBRs, and a claim before every action
            steps=set(steps),
        )

    def close(self) -> None:
        """Close the Notion, Redis and Chat clients and the state store."""
        self.adapter.close()
        self.state.close()
        if self.events is not None:
            self.events.close()
        if self.chat is not None:
            self.chat.close()

    def scheduler(self, *, timezone: str = "UTC") -> CSMScheduler:
        """The daily health scan, the daily QBR check and the quarterly QBR run."""
        return CSMScheduler(
            health_scan=lambda as_of: self.run(as_of, steps=("health", "alerts", "expansions")),
            qbr_check=lambda as_of: self.run(as_of, steps=("qbrs",)),
            timezone=timezone,
        )


def build_agent(
    environ: Mapping[str, str] | None = None,
    *,
    state_dir: Path,
    limiter: RateLimiter | None = None,
    gmail_credentials: Any = None,
    gmail_http: Any = None,
) -> CSMAgent:
    """Wire the agent from the environment; see the module docstring for the variables.

    ``gmail_credentials`` are the host's Google credentials (default: Application Default Credentials
    when GOOGLE_APPLICATION_CREDENTIALS is set); ``gmail_http`` replaces the HTTP transport (tests).
    """
    env = environ if environ is not None else {}
    adapter = NotionCSMAdapter.from_env(env, limiter=limiter)
    narrator: Narrator = TemplateNarrator()
    if env.get("ANTHROPIC_API_KEY"):
        from csm_rules.narration import ClaudeNarrator

        narrator = ClaudeNarrator(fallback=TemplateNarrator())
    events = None
    if env.get("CSM_REDIS_URL"):
        events = RedisStreamEventSink.from_url(
            env["CSM_REDIS_URL"], tenant_id=env.get("CSM_TENANT_ID", "default"), maxlen=100_000
        )
    chat = GoogleChatSink(env["CSM_GOOGLE_CHAT_WEBHOOK"]) if env.get("CSM_GOOGLE_CHAT_WEBHOOK") else None
    gmail = None
    if gmail_http is not None or gmail_credentials is not None:
        gmail = GmailDraftSink.from_credentials(gmail_credentials, http=gmail_http)
    elif env.get("GOOGLE_APPLICATION_CREDENTIALS"):
        import google.auth

        credentials, _ = google.auth.default(scopes=[COMPOSE_SCOPE])
        gmail = GmailDraftSink.from_credentials(credentials)
    if env.get("CSM_STATE_URL"):  # the host's database (e.g. its SQLAlchemy engine's URL), schema per tenant
        state = StateStore(env["CSM_STATE_URL"], schema=env.get("CSM_STATE_SCHEMA"))
    else:
        state_dir.mkdir(parents=True, exist_ok=True)
        state = StateStore(f"sqlite:///{state_dir / 'state.db'}")
    return CSMAgent(adapter, narrator, events, gmail, chat, SalesAgentQueue(), state)


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
                f"{report.failures_total} failures"
            )
            return 0
        return 0 if agent.scheduler(timezone=args.timezone).start(blocking=True) else 2
    finally:
        agent.close()


if __name__ == "__main__":
    sys.exit(main())
