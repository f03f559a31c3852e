"""A scan in its own process, for the concurrency and kill tests and benchmarks/bench_state.py.

    python tests/state/scan_worker.py PORTFOLIO OUT STATE_URL [SCHEMA|-] AS_OF LEASE_SECONDS BATCH_SIZE

Prints the report as JSON on stdout; exits 1 when an action failed.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from csm_rules.jobs.scan import scan
from csm_rules.local.sinks import LocalSinks
from csm_rules.sources.portfolio_files import FileSource
from csm_rules.state.store import StateStore


def main(argv: list[str]) -> int:
    """Run one scan as the arguments say."""
    portfolio, out, url, schema, as_of, lease, batch = argv
    with StateStore(url, schema=None if schema == "-" else schema, lease_seconds=float(lease)) as state:
        report = scan(
            FileSource(portfolio),
            as_of=date.fromisoformat(as_of),
            sinks=LocalSinks(out),
            state=state,
            batch_size=int(batch),
        )
    print(json.dumps(report.to_dict()))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
