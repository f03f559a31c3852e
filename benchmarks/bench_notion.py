"""Benchmark: 250 accounts read + 250 health writes through NotionCSMAdapter against FakeNotionServer.

Uses the real notion-client over loopback HTTP and the adapter's *default* rate limiter, so the wall time
is what a real run costs under Notion's limit. Prints the request count, the average requests/s (must
stay ≤ 3) and the wall time; exits 1 if the average is above 3.

    .venv/bin/python benchmarks/bench_notion.py [--accounts 250]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from csm_rules.domain.vocabulary import Band, ChurnLevel
from csm_rules.notion import NotionCSMAdapter, build_notion_client
from csm_rules.outputs.channels import HealthUpdate
from csm_rules.testing.fake_notion import FakeNotionServer, seed_csm_workspace

AS_OF = date(2026, 11, 24)
LIMIT = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=250)
    args = parser.parse_args()
    with FakeNotionServer() as fake:
        workspace = seed_csm_workspace(fake, accounts=args.accounts)
        client = build_notion_client(fake.token, base_url=fake.base_url)
        adapter = NotionCSMAdapter(
            client,
            accounts_database_id=workspace.accounts.database_id,
            qbr_database_id=workspace.qbr.database_id,
        )
        fake.clear_log()
        started = time.perf_counter()
        read = adapter.read_accounts(AS_OF)
        read_done = time.perf_counter()
        for n, snapshot in enumerate(read.snapshots):
            adapter.write_health(
                HealthUpdate(
                    account_id=snapshot.account_id,
                    health_score=float(40 + n % 60),
                    rag_status=(Band.RED, Band.AMBER, Band.GREEN)[n % 3],
                    churn_risk_level=ChurnLevel.MEDIUM,
                    scan_date=AS_OF,
                )
            )
        wall = time.perf_counter() - started
        client.close()
        log = fake.requests
    stamps = [r.at for r in log]
    peak = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    average = len(log) / wall
    print(f"accounts read:       {len(read.snapshots)} ({len(read.problems)} problems)")
    print(f"health writes:       {sum(1 for r in log if r.method == 'PATCH')}")
    print(f"requests:            {len(log)}")
    print(f"average requests/s:  {average:.3f} (limit {LIMIT})")
    print(f"peak in any 1 s:     {peak}")
    print(f"read time:           {read_done - started:.1f} s")
    print(f"wall time:           {wall:.1f} s")
    return 0 if average <= LIMIT else 1


if __name__ == "__main__":
    raise SystemExit(main())
