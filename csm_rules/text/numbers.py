"""One formatter per kind of number, so a document never shows one number two ways.

Every text csm-rules writes (templates, QBRs, alerts, ``explain``, the report) formats numbers here:

- :func:`score` — a health score, always one decimal: ``85.0``, ``72.5``;
- :func:`percent` — a 0..1 rate as a whole percentage: ``0.517`` → ``52%`` (one decimal below 1%);
- :func:`percent_value` — a number already in percent (``usage_trend_pct``), in the same form;
- :func:`money` — whole dollars: ``$12,000``;
- :func:`count` — a count with its noun: ``1 seat``, ``19 seats``, ``1,200 tickets``;
- :func:`days` — ``1 day``, ``45 days``;
- :func:`number` — any other quantity (hours, a value metric): ``1,250``, ``72.5``;
- :func:`points` — a change in score points: ``+3.5 points``, ``−3.5 points``.

Rounding is half up (``72.45`` → ``72.5``), the forms the grounding check accepts
(:mod:`csm_rules.narration.grounding`). :func:`article` picks "a" or "an" by how the next word sounds,
:func:`fix_articles` corrects every article of a text and :func:`article_problems` lists the wrong ones.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "article",
    "article_problems",
    "count",
    "days",
    "fix_articles",
    "half_up",
    "money",
    "number",
    "percent",
    "percent_value",
    "points",
    "score",
]


def half_up(value: float, places: int) -> Decimal:
    """``value`` rounded half up to ``places`` decimals, on its exact decimal digits (as a reader rounds)."""
    return Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def number(value: float) -> str:
    """A quantity as a colleague writes it: ``45``, ``72.5``, ``1,200`` (one decimal at most, half up)."""
    rounded = half_up(value, 1)
    if rounded == rounded.to_integral_value():
        return f"{int(rounded):,}"
    return f"{rounded:,.1f}"


def score(value: float) -> str:
    """A health score (0..100), always with one decimal: ``85.0``, ``72.5``."""
    return f"{half_up(value, 1):.1f}"


def points(delta: float) -> str:
    """A change of score: ``+3.5 points``, ``−3.5 points``, ``no change``."""
    rounded = half_up(delta, 1)
    if rounded == 0:
        return "no change"
    sign = "+" if rounded > 0 else "−"
    unit = "point" if abs(rounded) == 1 else "points"
    return f"{sign}{abs(rounded):.1f} {unit}"


def percent_value(pct: float) -> str:
    """A number already in percent, as a whole percentage: ``11.4`` → ``11%``; ``0.4`` → ``0.4%``."""
    whole = half_up(pct, 0)
    if whole == 0 and pct != 0:
        return f"{number(pct)}%"
    return f"{int(whole):,}%"


def percent(rate: float) -> str:
    """A 0..1 rate as a whole percentage: ``0.85`` → ``85%``, ``0.517`` → ``52%``."""
    return percent_value(rate * 100)


def money(value: float) -> str:
    """An amount of money, whole dollars: ``$12,000``."""
    return f"${int(half_up(value, 0)):,}"


def count(value: float, singular: str, plural: str | None = None) -> str:
    """A count with its noun: ``count(1, "seat")`` → ``1 seat``; ``count(19, "seat")`` → ``19 seats``."""
    text = number(value)
    return f"{text} {singular if text == '1' else (plural or singular + 's')}"


def days(value: float) -> str:
    """A number of days: ``1 day``, ``45 days``."""
    return count(value, "day")


# -- a / an ------------------------------------------------------------------------------------------

# Letters whose spoken name starts with a vowel sound, for initialisms read letter by letter (an NPS, an SLA).
_VOWEL_LETTERS = frozenset("AEFHILMNORSX")
# Words spelt with a vowel that start with a consonant sound, and the reverse (silent h).
_CONSONANT_SOUND = re.compile(
    r"^(?:one\b|once\b|uni(?!n[a-z]*ed)|unan|use|usu|usa|uti|ubiq|uku|ura|ure|uri|uro|eu|ewe)", re.I
)
_VOWEL_SOUND = re.compile(r"^(?:hour|honest|honou?r|heir)", re.I)
_INITIALISM = re.compile(r"^[A-Z]{2,}s?\b")
_DIGITS = re.compile(r"^\$?(\d[\d,]*)")


def _number_sounds_vowel(digits: str) -> bool:
    """How a number is read: 8, 11, 18, 80-89, 8,000, 11,000, 18,500 start with a vowel sound."""
    plain = digits.replace(",", "")
    groups = f"{int(plain):,}".split(",") if plain else [""]
    lead = groups[0]
    return lead.startswith("8") or lead in ("11", "18")


def article(word: str) -> str:
    """``"a"`` or ``"an"`` for the word that follows: an 11% gain, an NPS, an hour, a user, a $5,000 deal."""
    word = word.lstrip("\"'“‘(")
    if not word:
        return "a"
    if word.startswith("$"):
        return "a"  # "a dollar amount": $ is read "a ... dollar"; "an $8,000" reads wrong either way
    digits = _DIGITS.match(word)
    if digits:
        return "an" if _number_sounds_vowel(digits.group(1)) else "a"
    if _INITIALISM.match(word) and not _VOWEL_SOUND.match(word):
        return "an" if word[0] in _VOWEL_LETTERS else "a"
    if _VOWEL_SOUND.match(word):
        return "an"
    if word[0].lower() in "aeiou":
        return "a" if _CONSONANT_SOUND.match(word) else "an"
    return "a"


_ARTICLE = re.compile(r"\b([Aa]n?)\s+([\"'“‘(]?[$\w][\w$,.%-]*)")


def fix_articles(text: str) -> str:
    """Every "a"/"an" of ``text`` set by the word that follows it (the case of the article is kept)."""

    def fixed(match: re.Match[str]) -> str:
        wanted = article(match.group(2))
        written = match.group(1)
        shown = wanted.capitalize() if written[0] == "A" else wanted
        return f"{shown} {match.group(2)}"

    return _ARTICLE.sub(fixed, text)


def article_problems(text: str) -> list[str]:
    """Each "a"/"an" of ``text`` that does not fit the word after it, e.g. ``'a 11%'``."""
    return [
        f"{m.group(1)} {m.group(2)!r} should be {article(m.group(2))!r}"
        for m in _ARTICLE.finditer(text)
        if m.group(1).lower() != article(m.group(2))
    ]
