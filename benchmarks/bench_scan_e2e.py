"""Benchmark (Claude part of a scan): the texts a first scan needs, through ``ClaudeNarrator.prepare``.

    .venv/bin/python benchmarks/bench_scan_e2e.py                     # 2,000 accounts, ~15 min
    .venv/bin/python benchmarks/bench_scan_e2e.py --accounts 300      # scaled down, ~2 min
    .venv/bin/python benchmarks/bench_scan_e2e.py --only paced        # one scenario

Drives the narrator the way the scan does: decide first (churn explanations for the alerts the gate lets
through — ``alerts.max_per_scan`` — a talk track per expansion opportunity, QBR summaries for the QBRs
due), hand every text to ``prepare``, then ask
for each text through the per-text methods (which must not send a request). Against FakeMessagesServer
with 2–6 s per answer (uniform, seeded), over loopback with the real anthropic client.

Scenarios and targets (issue 19 / issue 14):

- ``first``: first scan, everything in real time at 16 in flight. Target: wall ≤ 1.2 × (requests × mean
  latency ÷ 16). Then a same-day re-run on the same SQLite narrative cache: target 0 requests.
- ``scheduled``: QBRs may wait (``urgent=False``): they go through a message batch (the fake ends it after
  ``--batch-seconds``); only urgent texts are sent in real time.
- ``paced``: a 50 requests/minute key (tier 1): pacing from the rate-limit headers, not fallbacks; target
  0 fallbacks, wall ≈ the rate's floor. Scaled to ``--paced-texts`` texts (default 120: ~2 min).
- ``down``: Claude unreachable (refused connection): the breaker opens; target under a minute for every
  account, each text from the templates with the reason.
"""

from __future__ import annotations

import argparse
import random
import socket
import tempfile
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

import anthropic

import csm_rules
from csm_rules.narration import ClaudeNarrator, SQLiteNarrativeCache
from csm_rules.narration.narrative import NarrationRequest, Narrative
from csm_rules.testing.fake_anthropic import FakeMessagesServer, FakeReply, RecordedRequest
from csm_rules.testing.portfolio_generator import generate_portfolio

LATENCY = (2.0, 6.0)
CONCURRENCY = 16


class _Latency:
    """Answers every forced tool call after a seeded 2–6 s delay (thread-safe)."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> FakeReply:
        with self._lock:
            delay = self._rng.uniform(*LATENCY)
        schema = (request.body or {}).get("tools", [{}])[0].get("input_schema", {})
        fields = schema.get("required") or ["text"]
        answer = dict.fromkeys(fields, "The account team should review this account this week.")
        return FakeReply.tool(answer, delay=delay)


def _portfolio(n: int) -> list[tuple[csm_rules.AccountSnapshot, csm_rules.AccountVerdict]]:
    config = csm_rules.load_config()
    records = generate_portfolio(n, seed=19, as_of=date(2026, 11, 24))
    snapshots = [csm_rules.AccountSnapshot(**r) for r in records]
    return [(s, csm_rules.evaluate(s, config)) for s in snapshots]


def _requests(
    accounts: list[tuple[csm_rules.AccountSnapshot, csm_rules.AccountVerdict]], *, qbr_urgent: bool
) -> list[NarrationRequest]:
    requests: list[NarrationRequest] = []
    # the alert gate lets at most alerts.max_per_scan through; the scan narrates only those
    alerts_left = csm_rules.load_config().thresholds.alerts.max_per_scan
    for snapshot, verdict in accounts:
        if verdict.should_alert and alerts_left > 0:
            alerts_left -= 1
            requests.append(NarrationRequest(kind="churn_explanation", verdict=verdict, snapshot=snapshot))
        requests.extend(
            NarrationRequest(kind="talk_track", verdict=verdict, snapshot=snapshot, opportunity=o)
            for o in verdict.expansions
        )
        if verdict.qbr_due is not None:
            requests.append(
                NarrationRequest(kind="qbr_summaries", verdict=verdict, snapshot=snapshot, urgent=qbr_urgent)
            )
    return requests


def _use(narrator: ClaudeNarrator, requests: list[NarrationRequest]) -> Counter[tuple[str, str]]:
    """Ask for every text as the scan does; count them by (kind, narrator)."""
    counts: Counter[tuple[str, str]] = Counter()
    for r in requests:
        texts: list[Narrative]
        if r.kind == "churn_explanation":
            texts = [narrator.churn_explanation(r.verdict, snapshot=r.snapshot)]
        elif r.kind == "talk_track":
            assert r.opportunity is not None
            texts = [narrator.talk_track(r.verdict, r.opportunity, snapshot=r.snapshot)]
        else:
            texts = list(narrator.qbr_summaries(r.verdict, r.sections, snapshot=r.snapshot).values())
        counts[(r.kind, texts[0].narrator)] += 1
    return counts


def _kinds(requests: list[NarrationRequest]) -> str:
    counts = Counter(r.kind for r in requests)
    return ", ".join(f"{counts[k]} {k}" for k in ("churn_explanation", "talk_track", "qbr_summaries"))


def _narrators(counts: Counter[tuple[str, str]]) -> str:
    return ", ".join(f"{kind}/{who}={n}" for (kind, who), n in sorted(counts.items()))


def _client(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="bench", base_url=url)


def first(accounts: list[tuple[csm_rules.AccountSnapshot, csm_rules.AccountVerdict]], workdir: Path) -> None:
    requests = _requests(accounts, qbr_urgent=True)
    with (
        FakeMessagesServer(responder=_Latency(1)) as server,
        SQLiteNarrativeCache(workdir / "n.sqlite") as cache,
    ):
        narrator = ClaudeNarrator(client=_client(server.url), cache=cache, max_in_flight=CONCURRENCY)
        started = time.perf_counter()
        narrator.prepare(requests)
        counts = _use(narrator, requests)
        wall = time.perf_counter() - started
        sent = server.request_count
        floor = sent * sum(LATENCY) / 2 / CONCURRENCY
        report = narrator.last_prepare
        assert report is not None
        print(
            f"first scan, {len(accounts)} accounts: {_kinds(requests)}; {sent} requests, "
            f"max in flight {server.max_in_flight}; wall {wall:.1f} s vs floor {floor:.1f} s "
            f"(requests x 4 s / {CONCURRENCY}): {wall / floor:.3f}x (target <= 1.2x); "
            f"fallbacks {sum(report.fallbacks.values())}; tokens in/out {report.usage.input_tokens}/"
            f"{report.usage.output_tokens}, cache read/write {report.usage.cache_read_input_tokens}/"
            f"{report.usage.cache_creation_input_tokens} (prompt caching: {narrator.prompt_caching})"
        )
        print(f"  narrators: {_narrators(counts)}")
        again = ClaudeNarrator(client=_client(server.url), cache=cache, max_in_flight=CONCURRENCY)
        before = server.request_count
        started = time.perf_counter()
        again.prepare(requests)
        counts = _use(again, requests)
        print(
            f"same-day re-run: {server.request_count - before} requests (target 0), "
            f"{time.perf_counter() - started:.2f} s; narrators: {_narrators(counts)}"
        )


def scheduled(
    accounts: list[tuple[csm_rules.AccountSnapshot, csm_rules.AccountVerdict]], batch_seconds: float
) -> None:
    requests = _requests(accounts, qbr_urgent=False)
    with FakeMessagesServer(responder=_Latency(2), batch_seconds=batch_seconds) as server:
        narrator = ClaudeNarrator(client=_client(server.url), max_in_flight=CONCURRENCY, batch_poll_seconds=5)
        started = time.perf_counter()
        narrator.prepare(requests)
        counts = _use(narrator, requests)
        wall = time.perf_counter() - started
        report = narrator.last_prepare
        assert report is not None
        print(
            f"scheduled run (QBRs may wait), {len(accounts)} accounts: {_kinds(requests)}; "
            f"{server.request_count} real-time requests, {server.batch_item_count} in a batch "
            f"(ended after {batch_seconds:g} s); wall {wall:.1f} s; "
            f"fallbacks {sum(report.fallbacks.values())}"
        )
        print(f"  narrators: {_narrators(counts)}")


def paced(accounts: list[tuple[csm_rules.AccountSnapshot, csm_rules.AccountVerdict]], texts: int) -> None:
    requests = _requests(accounts, qbr_urgent=True)[:texts]
    rpm = 50
    with FakeMessagesServer(responder=_Latency(3), requests_per_minute=rpm) as server:
        narrator = ClaudeNarrator(client=_client(server.url), max_in_flight=CONCURRENCY)
        started = time.perf_counter()
        narrator.prepare(requests)
        counts = _use(narrator, requests)
        wall = time.perf_counter() - started
        report = narrator.last_prepare
        assert report is not None
        floor = max(0, len(requests) - rpm) * 60 / rpm
        print(
            f"{rpm} requests/min: {len(requests)} texts, {server.request_count} requests, "
            f"{server.rate_limited} answered 429; wall {wall:.1f} s (rate floor {floor:.0f} s + latency); "
            f"paced {report.paced_seconds:.0f} s in total; fallbacks {sum(report.fallbacks.values())} "
            f"(target 0); narrators: {_narrators(counts)}"
        )


def down(accounts: list[tuple[csm_rules.AccountSnapshot, csm_rules.AccountVerdict]]) -> None:
    requests = _requests(accounts, qbr_urgent=True)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    narrator = ClaudeNarrator(client=_client(f"http://127.0.0.1:{port}"), max_in_flight=CONCURRENCY)
    started = time.perf_counter()
    narrator.prepare(requests)
    counts = _use(narrator, requests)
    wall = time.perf_counter() - started
    report = narrator.last_prepare
    assert report is not None
    reasons: Counter[str] = Counter()
    for reason, n in report.fallbacks.items():
        reasons[reason.split(" (last")[0]] += n
    print(
        f"Claude unreachable, {len(accounts)} accounts, {len(requests)} texts: wall {wall:.1f} s "
        f"(target < 60 s); narrators: {_narrators(counts)}; reasons: {dict(reasons)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--paced-texts", type=int, default=120)
    parser.add_argument("--batch-seconds", type=float, default=60.0)
    parser.add_argument("--only", choices=["first", "scheduled", "paced", "down"])
    args = parser.parse_args()
    accounts = _portfolio(args.accounts)
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "down"):
            down(accounts)
        if args.only in (None, "paced"):
            paced(accounts, args.paced_texts)
        if args.only in (None, "scheduled"):
            scheduled(accounts, args.batch_seconds)
        if args.only in (None, "first"):
            first(accounts, Path(tmp))


if __name__ == "__main__":
    main()
