"""Notion at its budget: a first scan's request count and wall time, and a scan with Notion down.

    .venv/bin/python benchmarks/bench_notion_scan.py first [--accounts 100] [--latency 0.6]
    .venv/bin/python benchmarks/bench_notion_scan.py down [--accounts 2000]

``first``: ``scan()`` of a generated portfolio (``generate_portfolio``, seed 7) whose accounts are pages
of an accounts database in a ``FakeNotionServer`` that answers every request ``--latency`` seconds
late; the adapter is the source, the health sink and the QBR writer, over the real notion-client on
loopback, with its default limiter (2.9 requests/s, no burst) and 4 requests in flight; the template
narrator and an in-memory state store. The scan reads every account, writes every health update (an
alerting account's through its alert, one at a time; the others in one pipelined call per batch) and
creates every due QBR and its prep page (pipelined too). It prints the requests sent against the
minimum a first scan needs (database + schema + one query per 100 accounts, one update per account,
QBR database + one listing, and one create plus one append per further request-sized batch of blocks
for each QBR and prep page), the wall time against requests ÷ 3/s, and the most requests the fake held
at once. The rate, not the latency, bounds the run, so the figures scale linearly.

``down``: ``scan()`` of a generated portfolio with the adapter as health sink and QBR writer while
every Notion request fails with 503, with the adapter's default retry policy (real backoff) and
breaker. Prints the wall time and how many accounts the report accounts for. Exits 1 when a target
is missed (first: ≤ 1.05× the minimum requests, ≤ 1.1× requests ÷ 3/s; down: < 60 s, every account).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from csm_rules import AccountSnapshot, Sinks, TemplateNarrator, evaluate, load_config, scan
from csm_rules.notion import NotionCSMAdapter, build_notion_client
from csm_rules.notion.blocks import qbr_blocks
from csm_rules.notion.mapping import NotionMapping, load_mapping
from csm_rules.outputs.qbr import build_qbr_documents
from csm_rules.sources.protocol import SourceResult
from csm_rules.state.store import StateStore
from csm_rules.testing.fake_notion import FakeNotionServer, seed_csm_workspace
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)


def _page_values(snapshot: AccountSnapshot, mapping: NotionMapping) -> dict[str, Any]:
    """The account page a host would hold for ``snapshot``: each mapped field it has, as Notion stores it.

    Fields the mapping does not read (per-feature usage, usage and health history) are left out, as
    are the days-based inputs the snapshot did not turn into a date.
    """
    data = snapshot.model_dump()
    days = snapshot.days_since_last_interaction
    if data.get("last_interaction_date") is None and days is not None:
        data["last_interaction_date"] = snapshot.as_of - timedelta(days=days)
    values: dict[str, Any] = {"Status": "Active"}
    for target, spec in mapping.accounts.fields.items():
        value: Any = data
        for part in target.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or value == ():
            continue
        value = getattr(value, "value", value)  # an enum: its value
        if spec.type == "people":
            value = [{"name": value, "email": data["owner"]["email"]}]
        elif spec.values:
            value = {ours: theirs for theirs, ours in spec.values.items()}.get(value, value)
        elif isinstance(value, tuple):
            value = list(value)
        values[spec.property] = value
    return values


def first_scan(accounts: int, latency: float) -> bool:
    """The first-scan figures; True when both targets hold."""
    config = load_config()
    narrator = TemplateNarrator()
    mapping = load_mapping()
    snapshots = [AccountSnapshot(**row) for row in generate_portfolio(accounts, seed=7, as_of=AS_OF)]
    with FakeNotionServer() as fake:
        workspace = seed_csm_workspace(fake, accounts=0, as_of=AS_OF)
        for snapshot in snapshots:
            fake.add_page(workspace.accounts.data_source_id, _page_values(snapshot, mapping))
        client = build_notion_client(fake.token, base_url=fake.base_url, timeout=30)
        adapter = NotionCSMAdapter(
            client,
            accounts_database_id=workspace.accounts.database_id,
            qbr_database_id=workspace.qbr.database_id,
        )
        fake.latency = latency
        fake.clear_log()
        started = time.perf_counter()
        report = scan(
            adapter,
            as_of=AS_OF,
            config=config,
            narrator=narrator,
            sinks=Sinks(health=adapter),
            qbr_writer=adapter,
            state=StateStore.in_memory(),
        )
        wall = time.perf_counter() - started
        log, in_flight = fake.requests, fake.max_in_flight
        fake.latency = 0.0
        # The documents the scan wrote, built again from the accounts as Notion holds them (not timed).
        read = NotionCSMAdapter(client, accounts_database_id=workspace.accounts.database_id).read_accounts(
            AS_OF
        )
        client.close()
    documents = [
        document
        for s in read.snapshots
        if (verdict := evaluate(s, config)).qbr_due is not None
        for document in build_qbr_documents(s, verdict, narrator, config=config)
        if document is not None
    ]
    batches = sum(len([b for b in qbr_blocks(d) if b]) for d in documents)
    minimum = 2 + math.ceil(accounts / 100) + len(read.snapshots) + 2 + batches
    budget = len(log) / 3.0
    failed = len(report.failures) + len(report.source_problems)
    print(
        f"accounts: {report.accounts_scored} scored of {len(read.snapshots)} read; QBR pages: "
        f"{report.qbrs_written} + {report.qbr_preps_written} prep; health updates: "
        f"{report.health_updates_written} ({report.alerts_delivered + report.alerts_partial} through "
        f"alerts); failures: {failed}"
    )
    print(f"latency per request: {latency:.2f} s, workers: {adapter.workers}, most in flight: {in_flight}")
    print(f"requests: {len(log)} (minimum {minimum}: {len(log) / minimum:.3f}x, target <= 1.05x)")
    print(f"wall: {wall:.1f} s (requests / 3/s = {budget:.1f} s: {wall / budget:.3f}x, target <= 1.1x)")
    print(f"average rate: {len(log) / wall:.3f} requests/s (limit 3)")
    print(f"extrapolated to 2,000 accounts: ~{wall * 2000 / max(1, accounts) / 60:.1f} min")
    return failed == 0 and len(log) <= 1.05 * minimum and wall <= 1.1 * budget


class _Portfolio:
    """A source serving snapshots built before timing."""

    def __init__(self, snapshots: tuple[AccountSnapshot, ...]) -> None:
        self.snapshots = snapshots

    def read(self, as_of: date | None = None) -> SourceResult:
        return SourceResult(snapshots=self.snapshots)


def notion_down(accounts: int) -> bool:
    """A scan with every Notion request failing; True when it ends in < 60 s and reports every account."""
    rows = generate_portfolio(accounts, seed=7, as_of=AS_OF)
    source = _Portfolio(tuple(AccountSnapshot(**row) for row in rows))
    with FakeNotionServer() as fake:
        workspace = seed_csm_workspace(fake, accounts=1, as_of=AS_OF)
        fake.random_faults(1.0, statuses=(503,))
        client = build_notion_client(fake.token, base_url=fake.base_url, timeout=30)
        adapter = NotionCSMAdapter(
            client,
            accounts_database_id=workspace.accounts.database_id,
            qbr_database_id=workspace.qbr.database_id,
        )
        started = time.perf_counter()
        report = scan(source, as_of=AS_OF, sinks=Sinks(health=adapter), qbr_writer=adapter)
        wall = time.perf_counter() - started
        client.close()
        sent = len(fake.requests)
    reported = {f.account_id for f in report.failures}
    skipped = sum("circuit open" in f.message for f in report.failures)
    print(f"accounts: {accounts}, scored: {report.accounts_scored}, requests sent to Notion: {sent}")
    print(f"accounts with a reported failure: {len(reported)}; failures naming the open circuit: {skipped}")
    print(f"wall: {wall:.1f} s (target < 60 s)")
    return wall < 60 and len(reported) == accounts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=["first", "down"])
    parser.add_argument("--accounts", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.6)
    args = parser.parse_args()
    logging.getLogger("csm_rules").setLevel(logging.ERROR)  # one warning per failed account is noise here
    if args.case == "first":
        ok = first_scan(args.accounts or 100, args.latency)
    else:
        ok = notion_down(args.accounts or 2000)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
