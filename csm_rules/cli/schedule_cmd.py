"""``csm-rules schedule``: run the CSMScheduler in the foreground until interrupted."""

from __future__ import annotations

import argparse
import logging
from datetime import date

from csm_rules.cli import scan_cmd
from csm_rules.jobs.scheduler import CSMScheduler

NAME = "schedule"
HELP = "Run the daily health scan (07:00), QBR check (08:00) and quarterly QBRs in the foreground."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the command's options (the scan's, plus the timezone)."""
    scan_cmd.add_arguments(parser)
    parser.add_argument("--timezone", default="UTC", help="IANA timezone of the schedule (default: UTC)")
    parser.add_argument("--no-catch-up", action="store_true", help="don't run the daily jobs at start")


def run(args: argparse.Namespace) -> int:
    """Start the blocking scheduler; 2 when APScheduler is missing."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    setup = scan_cmd.prepare(args)

    def health_scan(as_of: date) -> object:
        return setup.run(as_of, steps={"health", "alerts", "expansions"}).to_dict()

    def qbr_check(as_of: date) -> object:
        return setup.run(as_of, steps={"qbrs"}).to_dict()

    scheduler = CSMScheduler(
        health_scan=health_scan,
        qbr_check=qbr_check,
        timezone=args.timezone,
        catch_up_on_start=not args.no_catch_up,
    )
    try:
        started = scheduler.start(blocking=True)
    except KeyboardInterrupt:
        scheduler.shutdown(wait=False)
        return 0
    finally:
        setup.close()
    return 0 if started else 2
