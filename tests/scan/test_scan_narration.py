"""What the scan narrates, through the real ``scan()``: only the texts of actions it performs — never a
cooled-down alert or an expansion task dispatched on an earlier day, exactly the new actions the next day —
and, with ``ClaudeNarrator`` against ``FakeMessagesServer``, one request per new text and concurrency that
survives 429s without a single fallback."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anthropic
import pytest

import csm_rules.narration
from csm_rules.jobs.scan import ScanReport, scan
from csm_rules.local.sinks import LocalSinks
from csm_rules.narration import ClaudeNarrator, TemplateNarrator
from csm_rules.narration.narrative import NarrationRequest
from csm_rules.sources.portfolio_files import FileSource
from csm_rules.state.store import StateStore
from csm_rules.testing.fake_anthropic import FakeMessagesServer, FakeReply, RecordedRequest
from csm_rules.testing.narrators import FunctionNarrator
from csm_rules.testing.portfolio_generator import generate_portfolio, next_day_portfolio
from tests.state.portfolio import jsonl, write_portfolio

DAY1 = date(2026, 11, 24)
DAY2 = DAY1 + timedelta(days=1)

#: One text: (kind, account, opportunity key or "").
Text = tuple[str, str, str]


@pytest.fixture(autouse=True)
def _no_real_llm_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csm_rules.narration, "ALLOW_LLM_CALLS", False)


class _RecordingNarrator(FunctionNarrator):
    """A preparing narrator that records what ``prepare`` was handed and what was asked for afterwards."""

    def __init__(self) -> None:
        super().__init__(lambda call: f"{call.kind} for {call.verdict.account_id}.")
        self.prepared: list[Text] = []

    def prepare(self, requests: Sequence[NarrationRequest]) -> None:
        self.prepared += [_text(r.kind, r.verdict.account_id, r.opportunity) for r in requests]

    def asked(self) -> list[Text]:
        """The per-text calls, one per text (a QBR's sections are one text, as in ``prepare``)."""
        texts: list[Text] = []
        for call in self.calls:
            kind = call.kind.split(":")[0]
            if kind == "qbr" and call.section != "health_summary":
                continue
            texts.append(_text(kind, call.verdict.account_id, call.opportunity))
        return texts


def _text(kind: str, account_id: str, opportunity: Any = None) -> Text:
    kind = {"qbr": "qbr_summaries"}.get(kind, kind)
    return (kind, account_id, opportunity.key if opportunity is not None else "")


def _days(tmp_path: Path, n: int, **changes: int) -> tuple[Path, Path, list[str]]:
    """Day 1's portfolio of ``n`` generated accounts, day 2's with ``changes`` (see next_day_portfolio),
    and every account id of both."""
    day1 = generate_portfolio(n, seed=13, as_of=DAY1)
    day2 = next_day_portfolio(day1, seed=14, **changes)
    ids = [r["account_id"] for r in day2]
    return write_portfolio(tmp_path / "day1.jsonl", day1), write_portfolio(tmp_path / "day2.jsonl", day2), ids


def _scan(portfolio: Path, out: Path, as_of: date, narrator: Any) -> ScanReport:
    return scan(FileSource(portfolio), as_of=as_of, sinks=LocalSinks(out), narrator=narrator)


class _Outputs:
    """What an output folder holds at one moment: alerts (events), tasks, completed QBRs per account."""

    def __init__(self, out: Path, accounts: list[str]) -> None:
        self.alerts = Counter(e["data"]["account_id"] for e in jsonl(out / "events.jsonl"))
        tasks = jsonl(out / "expansion_tasks.jsonl")
        self.tasks = Counter((t["account_id"], t["opportunity_key"]) for t in tasks)
        with StateStore(f"sqlite:///{out / 'state.db'}") as store:
            self.qbrs = store.completed_for(accounts)

    def texts_since(self, before: _Outputs) -> Counter[Text]:
        """The texts the actions performed since ``before`` needed."""
        texts: Counter[Text] = Counter()
        for account, n in (self.alerts - before.alerts).items():
            texts[("churn_explanation", account, "")] += n
        for (account, key), n in (self.tasks - before.tasks).items():
            texts[("talk_track", account, key)] += n
        for account, keys in self.qbrs.items():
            # One QBR a scan at most, however many keys it covers (a contract QBR covers the quarter's too).
            if keys - before.qbrs.get(account, frozenset()):
                texts[("qbr_summaries", account, "")] += 1
        return +texts


def test_cooled_down_alerts_and_tasks_dispatched_on_an_earlier_day_are_never_narrated(tmp_path: Path) -> None:
    day1, day2, ids = _days(tmp_path, 60)  # the same accounts a day later
    out = tmp_path / "out"
    first_narrator, narrator = _RecordingNarrator(), _RecordingNarrator()
    first = _scan(day1, out, DAY1, first_narrator)
    alerted = {account for kind, account, _ in first_narrator.prepared if kind == "churn_explanation"}
    dispatched = {(account, key) for kind, account, key in first_narrator.prepared if kind == "talk_track"}
    assert len(alerted) == first.alerts_delivered + first.alerts_partial > 0
    assert len(dispatched) == first.expansion_tasks_dispatched > 0
    before = _Outputs(out, ids)
    second = _scan(day2, out, DAY2, narrator)
    cooled = alerted - set(_Outputs(out, ids).alerts - before.alerts)  # less any re-alerted at a higher level
    assert second.alerts_cooled_down == len(cooled) > 0
    assert second.expansion_tasks_duplicate > 0
    for texts in (narrator.prepared, narrator.asked()):
        assert not {account for kind, account, _ in texts if kind == "churn_explanation"} & cooled
        assert not {(account, key) for kind, account, key in texts if kind == "talk_track"} & dispatched


def test_the_next_day_narrates_exactly_the_new_actions_texts(tmp_path: Path) -> None:
    day1, day2, ids = _days(tmp_path, 60, worsened=4, expanding=4, new_accounts=2)
    out = tmp_path / "out"
    _scan(day1, out, DAY1, _RecordingNarrator())
    before = _Outputs(out, ids)
    narrator = _RecordingNarrator()
    report = _scan(day2, out, DAY2, narrator)
    new = _Outputs(out, ids).texts_since(before)
    assert {kind for kind, _, _ in new} == {"churn_explanation", "talk_track", "qbr_summaries"}
    assert Counter(narrator.prepared) == new
    assert Counter(narrator.asked()) == new
    assert _performed(report) == sum(new.values())


def _performed(report: ScanReport) -> int:
    """The new actions a report shows performed: each needed one text (a QBR's sections are one)."""
    return (
        report.alerts_delivered
        + report.alerts_partial
        + report.expansion_tasks_dispatched
        + report.qbrs_written
    )


def _claude(server: FakeMessagesServer, **options: Any) -> ClaudeNarrator:
    client = anthropic.Anthropic(api_key="k", base_url=server.url)
    return ClaudeNarrator(client=client, fallback=TemplateNarrator(), **options)


def test_through_claude_the_next_day_sends_one_request_per_new_text(tmp_path: Path) -> None:
    day1, day2, ids = _days(tmp_path, 40, worsened=3, expanding=3, new_accounts=2)
    out = tmp_path / "out"
    with FakeMessagesServer() as server:
        first = _scan(day1, out, DAY1, _claude(server))
        assert server.request_count == _performed(first) > 0
        before = _Outputs(out, ids)
        server.reset()
        report = _scan(day2, out, DAY2, _claude(server))
        new = _Outputs(out, ids).texts_since(before)
        assert new and server.request_count == sum(new.values())
        assert set(report.narrators) == {"claude"}
        server.reset()
        again = _scan(day2, out, DAY2, _claude(server))  # the same day again: nothing new
        assert server.request_count == 0 and again.narrators == {}


class _RateLimitedAnswers:
    """Answers every request, but turns away requests 1, 15 and 30 with a 429 (``retry-after`` 1 s, the
    rate-limit headers as the API sends them); records how many other requests were being answered when
    each request after the last 429 arrived."""

    REFUSED = frozenset({1, 15, 30})

    def __init__(self) -> None:
        self.server: FakeMessagesServer | None = None
        self.seen = 0
        self.others_in_flight_after_429s: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> FakeReply:
        assert self.server is not None
        with self._lock:
            self.seen += 1
            number = self.seen
        if number in self.REFUSED:  # the server adds its rate-limit headers to every answer
            return FakeReply.error(429, "rate limited", headers={"retry-after": "1"}, delay=0.05)
        if number > max(self.REFUSED):
            self.others_in_flight_after_429s.append(self.server.in_flight)
        schema = (request.body or {}).get("tools", [{}])[0].get("input_schema", {})
        answer = dict.fromkeys(
            schema.get("required") or ["text"], "The account team should review this account."
        )
        return FakeReply.tool(answer, delay=0.4)


@pytest.fixture
def rate_limited() -> Iterator[tuple[FakeMessagesServer, _RateLimitedAnswers]]:
    answers = _RateLimitedAnswers()
    # and the API's own limit: 30 requests "a minute" refilled over 2 s (15 a second), paced from the headers
    with FakeMessagesServer(responder=answers, requests_per_minute=30, rate_window_seconds=2.0) as server:
        answers.server = server
        yield server, answers


def test_a_scan_through_claude_keeps_its_concurrency_and_every_text_under_429s(
    tmp_path: Path, rate_limited: tuple[FakeMessagesServer, _RateLimitedAnswers]
) -> None:
    server, answers = rate_limited
    portfolio = write_portfolio(tmp_path / "p.jsonl", generate_portfolio(24, seed=13, as_of=DAY1))
    # no retries of failed requests: a 429 that cost a text would show as a fallback
    narrator = _claude(server, max_in_flight=8, max_api_retries=0)
    report = _scan(portfolio, tmp_path / "out", DAY1, narrator)
    prepared = narrator.last_prepare
    assert prepared is not None and prepared.rate_limited >= len(answers.REFUSED)
    assert prepared.fallbacks == {} and set(report.narrators) == {"claude"}
    assert report.ok
    assert server.max_in_flight > 1
    after = answers.others_in_flight_after_429s
    assert after and max(after) >= 1  # still several at once after the last 429
