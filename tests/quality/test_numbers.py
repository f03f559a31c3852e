"""One formatter per kind of number, and a/an by the sound of the next word."""

from __future__ import annotations

import pytest

from csm_rules.text import numbers


def test_one_form_per_kind() -> None:
    assert numbers.money(12000) == "$12,000"
    assert numbers.money(1234.5) == "$1,235"
    assert numbers.percent(0.85) == "85%"
    assert numbers.percent(0.517) == "52%"  # never 51.7% in one place and 52% in another
    assert numbers.percent(0.004) == "0.4%"
    assert numbers.percent_value(11.4) == "11%"
    assert numbers.number(72.46) == "72.5"
    assert numbers.number(72.45) == "72.5"  # half up, not banker's rounding
    assert numbers.number(1200.0) == "1,200"
    assert numbers.score(85) == "85.0"
    assert numbers.score(72.45) == "72.5"
    assert numbers.points(-3.45) == "−3.5 points"
    assert numbers.points(1) == "+1.0 point"
    assert numbers.points(0.04) == "no change"
    assert numbers.count(1, "seat") == "1 seat"
    assert numbers.count(1200, "ticket") == "1,200 tickets"
    assert numbers.count(2, "opportunity", "opportunities") == "2 opportunities"
    assert numbers.days(1) == "1 day" and numbers.days(45) == "45 days"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("11%", "an"),
        ("11.4%", "an"),
        ("18", "an"),
        ("8", "an"),
        ("80%", "an"),
        ("800", "an"),
        ("11,000", "an"),
        ("110", "a"),
        ("1,800", "a"),
        ("52%", "a"),
        ("$8,000", "a"),
        ("hour", "an"),
        ("honest", "an"),
        ("NPS", "an"),
        ("SSO", "an"),
        ("API", "an"),
        ("TAM", "a"),
        ("CSAT", "a"),
        ("user", "a"),
        ("unique", "a"),
        ("one-time", "a"),
        ("unused", "an"),
        ("upsell", "an"),
        ("Analytics", "an"),
        ("benchmark", "a"),
    ],
)
def test_article_follows_the_sound(word: str, expected: str) -> None:
    assert numbers.article(word) == expected


def test_fix_articles_and_problems() -> None:
    text = "A 11.4% gain, a NPS of 3 and an user. An Analytics Pro plan."
    assert numbers.fix_articles(text) == "An 11.4% gain, an NPS of 3 and a user. An Analytics Pro plan."
    assert len(numbers.article_problems(text)) == 3
    assert numbers.article_problems(numbers.fix_articles(text)) == []
