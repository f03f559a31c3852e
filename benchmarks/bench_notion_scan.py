"""Notion at its budget: a first scan's request count and wall time, and a scan with Notion down.

    .venv/bin/python benchmarks/bench_notion_scan.py first [--accounts 100] [--latency 0.6]
    .venv/bin/python benchmarks/bench_notion_scan.py down [--accounts 2000]

``first``: a fresh accounts database of ``--accounts`` pages in a ``FakeNotionServer`` that answers
every request ``--latency`` seconds late; the real notion-client over loopback, the adapter's default
limiter (2.9 requests/s, no burst) and 4 requests in flight. It reads every account, writes every
health update (``write_health_many``) and creates every due QBR page (``write_qbr_many``), then
prints the requests sent against the minimum a first scan needs (database + schema + one query per
100 accounts, one update per account, QBR database + one listing of the period, and one create plus
one append per further 100 blocks for each QBR), and the wall time against requests ÷ 3/s. The rate,
not the latency, bounds the run, so the figures scale linearly: 100 accounts take ~75 s, 2,000 ~23 min.

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
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from csm_rules import AccountSnapshot, Sinks, TemplateNarrator, evaluate, load_config, scan
from csm_rules.notion import NotionCSMAdapter, build_notion_client
from csm_rules.notion.blocks import qbr_blocks
from csm_rules.outputs.channels import HealthUpdate
from csm_rules.outputs.qbr import build_qbr
from csm_rules.sources.protocol import SourceResult
from csm_rules.testing.fake_notion import FakeNotionServer, seed_csm_workspace
from csm_rules.testing.portfolio_generator import generate_portfolio

AS_OF = date(2026, 11, 24)


def first_scan(accounts: int, latency: float) -> bool:
    """The first-scan figures; True when both targets hold."""
    config = load_config()
    narrator = TemplateNarrator()
    with FakeNotionServer() as fake:
        workspace = seed_csm_workspace(fake, accounts=accounts, as_of=AS_OF)
        client = build_notion_client(fake.token, base_url=fake.base_url, timeout=30)
        adapter = NotionCSMAdapter(
            client,
            accounts_database_id=workspace.accounts.database_id,
            qbr_database_id=workspace.qbr.database_id,
        )
        fake.latency = latency
        fake.clear_log()
        started = time.perf_counter()
        read = adapter.read_accounts(AS_OF)
        verdicts = [(s, evaluate(s, config)) for s in read.snapshots]
        health = adapter.write_health_many([HealthUpdate.from_verdict(v) for _, v in verdicts])
        documents = [build_qbr(s, v, narrator) for s, v in verdicts if v.qbr_due is not None]
        pages = adapter.write_qbr_many(documents)
        wall = time.perf_counter() - started
        client.close()
        log = fake.requests
    failed = sum(isinstance(r, Exception) for r in [*health, *pages])
    batches = sum(len([b for b in qbr_blocks(d) if b]) for d in documents)
    minimum = 2 + math.ceil(accounts / 100) + len(read.snapshots) + 2 + batches
    budget = len(log) / 3.0
    print(f"accounts: {len(read.snapshots)}, QBR pages: {len(documents)}, failures: {failed}")
    print(f"latency per request: {latency:.2f} s, in flight: {adapter.workers}")
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
