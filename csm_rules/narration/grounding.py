"""The grounding check: a text may state only numbers, signals and bands that the verdict holds.

* **Numbers.** Every number in the text (``72.5``, ``73``, ``45 days``, ``$12,000``, ``85%``, ``1,200``) must
  equal a number of the verdict in one of the formats the templates use: as is, rounded half up to one
  decimal or to a whole number, its absolute value, a 0..2 rate as a percentage, or a count of a list the
  verdict holds. Numbers inside strings of the verdict (``overdue_60``, a trigger description, a QBR period
  such as ``2026-Q4``) count too. Numbers in the account's name are ignored. Extra numbers (the QBR's value
  metrics, from the snapshot) can be allowed explicitly.
* **Signals.** Every health signal the text names ("logins", "invoices", "NPS"...) must have been seen:
  a contribution, a trigger's or cap's evidence, a mover, or (for adoption and seats) the scorecard and
  an expansion opportunity. Talking about a signal the verdict has no value for is how a model invents.
* **Bands.** RED, AMBER and GREEN may appear only where the verdict holds that band (its band, the band the
  rules computed under an override, a TAM rating, a cap or history).
* **Form.** No raw field names (``login_frequency_days``), no ``None``/``null``/``nan``, no empty bullets, no
  empty text.
* **Nothing to act on from outside.** No URL, e-mail address or phone number unless the account data holds
  it verbatim; no instruction to the reader about payments or credentials ("wire the payment to…",
  "confirm your password…"); no number written as a word ("forty-five"): figures are written in digits,
  where they are checked (a lone "one" is a word: "one of", "no one").

The whole text is checked, the account's name included: an occurrence of the name is set aside only when
the name itself is plain (no link, address, phone number, instruction, and at most one short number, as in
"Acme 360"), so a name cannot smuggle numbers or a link past the check.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from csm_rules.domain.signals import BUILTIN_SIGNALS, all_signal_specs
from csm_rules.domain.verdict import AccountVerdict
from csm_rules.text import numbers

__all__ = [
    "SIGNAL_MENTIONS",
    "GroundingResult",
    "allowed_numbers",
    "check_grounding",
    "lure_problems",
    "signals_in_verdict",
]

#: How a text names each built-in signal (case-insensitive regular expressions, from the signal specs).
SIGNAL_MENTIONS: dict[str, str] = {spec.id: spec.mentions for spec in BUILTIN_SIGNALS}


@functools.cache
def _mention_pattern(mentions: str) -> re.Pattern[str]:
    return re.compile(mentions, re.IGNORECASE)


# A number as written in prose: 1,200 / 72.5 / 45 / -3.2 (a sign is read as words, so ignore it).
_NUMBER = re.compile(r"(?<![\w.])\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\d])")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_BAND_WORD = re.compile(r"\b(red|amber|green)\b", re.IGNORECASE)
_RAW_FIELD = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_NONE_WORD = re.compile(r"\b(None|null|nan|NaN|undefined)\b")
_EMPTY_BULLET = re.compile(r"^\s*(?:[-*•]|\d+\.)\s*$", re.MULTILINE)
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")

# Identifiers and hashes: their digits are not facts a text may state.
_SKIP_KEYS = frozenset({"account_id", "config_fingerprint", "rules_version", "idempotency_key", "covers"})


@dataclass(frozen=True)
class GroundingResult:
    """The outcome of :func:`check_grounding`: ``ok``, or the problems found."""

    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the text states nothing the verdict does not hold."""
        return not self.problems

    def __bool__(self) -> bool:
        return self.ok


def _key(value: float) -> str:
    return f"{value:.4f}"


def _half_up(value: float, places: int) -> float:
    return float(numbers.half_up(value, places))


def _variants(value: float) -> Iterable[float]:
    for v in (value, abs(value)):
        yield v
        yield _half_up(v, 1)
        yield _half_up(v, 0)
        if v <= 2:
            yield v * 100
            yield _half_up(v * 100, 1)
            yield _half_up(v * 100, 0)


def _walk(obj: Any, numbers: list[float], strings: list[str], bands: set[str], key: str = "") -> None:
    if key in _SKIP_KEYS:
        return
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, int | float):
        numbers.append(float(obj))
    elif isinstance(obj, str):
        strings.append(obj)
        if obj.upper() in ("RED", "AMBER", "GREEN"):
            bands.add(obj.upper())
    elif isinstance(obj, Mapping):
        for k, v in obj.items():
            strings.append(str(k))
            _walk(v, numbers, strings, bands, str(k))
    elif isinstance(obj, list | tuple):
        numbers.append(float(len(obj)))
        for item in obj:
            _walk(item, numbers, strings, bands, key)


def _verdict_facts(verdict: AccountVerdict) -> tuple[list[float], set[str]]:
    numbers: list[float] = []
    strings: list[str] = []
    bands: set[str] = set()
    data = verdict.model_dump()
    data.pop("account_name", None)
    _walk(data, numbers, strings, bands)
    numbers.extend(float(n) for s in strings for n in _DIGITS.findall(s))
    numbers.append(sum(o.estimated_arr_impact for o in verdict.expansions))
    return numbers, bands


def allowed_numbers(verdict: AccountVerdict, extra: Iterable[float] = ()) -> frozenset[str]:
    """Every number a text about ``verdict`` may state, as normalised keys (see :func:`check_grounding`)."""
    numbers, _ = _verdict_facts(verdict)
    return frozenset(_key(v) for n in [*numbers, *extra] for v in _variants(n))


def signals_in_verdict(verdict: AccountVerdict) -> frozenset[str]:
    """The signals the verdict holds a value or evidence for (the only ones a text may name)."""
    specs = all_signal_specs()
    field_signal = {f: spec.id for spec in specs for f in (*spec.fields, *spec.derived_from)}
    ids = {spec.id for spec in specs}
    found = {c.signal for c in verdict.health.contributions}
    found.update(m.signal for m in verdict.health.movers)
    evidence = [c for t in verdict.churn.triggers for c in t.evidence]
    evidence += [c for cap in verdict.health.caps_applied for c in cap.evidence]
    evidence += [c for o in verdict.expansions for c in o.evidence]
    for condition in evidence:
        name = condition.signal
        if name in ids:
            found.add(name)
        elif name in field_signal:
            found.add(field_signal[name])
    if any(t.kind == "tam_escalation" for t in verdict.churn.triggers):  # its label names both
        found.update(("escalations", "tam_health"))
    if verdict.adoption.data_available:
        found.add("feature_adoption")
    if any(o.opportunity_type.value == "seats" for o in verdict.expansions):
        found.add("seat_utilization")
    return frozenset(found)


def _strip_account_name(text: str, verdict: AccountVerdict) -> str:
    # The id is an identifier (its digits name the account, they state nothing), set aside unless it could
    # carry a lure; the name only when it is plain (no figures hidden in it).
    account_id = verdict.account_id
    if not (re.search(r"\s", account_id) or _URL.search(account_id) or _EMAIL.search(account_id)):
        text = re.sub(re.escape(account_id), " ", text, flags=re.IGNORECASE)
    name = verdict.account_name
    if name and _plain_name(name):
        text = re.sub(re.escape(name), " ", text, flags=re.IGNORECASE)
    return text


_URL = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>\"')\]]+"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|info|biz|xyz|ru|cn|top|link|app|dev)\b(?:/\S*)?"
)
_EMAIL = re.compile(r"(?i)\b[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}\b")
_PHONE = re.compile(r"(?<![\w.])\+?\(?\d{1,4}\)?(?:[\s.-]?\(?\d{2,4}\)?){2,5}(?![\w.])")
_INSTRUCTION = re.compile(
    r"(?i)\b(?:wire|transfer|send|pay|remit|deposit|update|change|confirm|verify|enter|provide|share|reset|"
    r"submit|click|log ?in|sign ?in|call)\b[^.!?\n]{0,60}?\b(?:passwords?|passcodes?|credentials?|log-?in "
    r"details|2fa|mfa|one-time code|otp|bank(?: account| details)?|account number|iban|swift|routing|card "
    r"(?:number|details)|credit card|payment details|gift cards?|bitcoin|crypto|wallet|new account|"
    r"payment (?:to|into|via|now|immediately|today)|the payment to|funds?)\b"
)
_NUMBER_WORDS = [
    "zero", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty", "thirty",
    "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "thousand", "million", "billion",
    "dozen",
]  # fmt: skip
# "one" alone is left out: "one next step", "no one", "one of the signals" are words, not figures.
_NUMBER_WORD = re.compile(
    r"(?i)\b(?:(?:" + "|".join([*_NUMBER_WORDS, "one"]) + r")\b(?:[\s-]+(?:and[\s-]+)?)?)+"
)


def _plain_name(name: str) -> bool:
    """A name that may be set aside before the check: nothing in it could carry a fact or a lure."""
    digit_groups = re.findall(r"\d+", name)
    return (
        len(name) <= 100
        and len(digit_groups) <= 1
        and all(len(group) <= 4 for group in digit_groups)
        and not (_URL.search(name) or _EMAIL.search(name) or _INSTRUCTION.search(name))
    )


def _is_number_words(words: str) -> bool:
    """True for a number in words ("forty-five", "twelve thousand"), False for a lone "one"."""
    tokens = [t for t in re.split(r"[\s-]+", words.lower()) if t and t != "and"]
    return bool(tokens) and tokens != ["one"]


def lure_problems(text: str, *, account_text: Iterable[str] = ()) -> list[str]:
    """Links, e-mail addresses, phone numbers not in ``account_text``; orders about payments or logins."""
    known = " ".join(account_text).lower()
    problems: list[str] = []
    for kind, pattern in (("link", _URL), ("e-mail address", _EMAIL), ("phone number", _PHONE)):
        for match in pattern.finditer(text):
            if kind == "phone number" and (
                len(re.sub(r"\D", "", match.group(0))) < 7 or _ISO_DATE.fullmatch(match.group(0).strip())
            ):
                continue  # a date or a pair of figures, not a number to call
            if match.group(0).lower() not in known:
                problems.append(f"{kind} {match.group(0)!r} is not in the account data")
    for match in _INSTRUCTION.finditer(text):
        problems.append(f"instruction about payments or credentials: {match.group(0)!r}")
    return problems


def form_problems(text: str) -> list[str]:
    """Problems of form any rep-facing text must not have (raw field names, "None", empty bullets)."""
    problems: list[str] = []
    if not text.strip():
        problems.append("the text is empty")
    for match in _RAW_FIELD.finditer(text):
        problems.append(f"raw field name {match.group(0)!r}")
    for match in _NONE_WORD.finditer(text):
        problems.append(f"placeholder word {match.group(0)!r}")
    if _EMPTY_BULLET.search(text):
        problems.append("an empty bullet")
    return problems


def check_grounding(
    text: str,
    verdict: AccountVerdict,
    *,
    extra_numbers: Iterable[float] = (),
    allowed_dates: Iterable[str] = (),
    account_text: Iterable[str] = (),
) -> GroundingResult:
    """Check that ``text`` states only numbers, signals and bands held by ``verdict`` (see the module doc).

    ``account_text`` is the free text the writer was shown (the account-data block): a link, address or
    phone number quoted from it verbatim is allowed, nothing else of its kind.
    """
    problems = form_problems(text)
    owner = verdict.owner
    on_record = [v for v in (owner.name, owner.email, owner.chat_handle) if v] if owner is not None else []
    problems += lure_problems(text, account_text=[*account_text, *on_record])  # the owner's address is held
    body = _strip_account_name(text, verdict)
    body = _EMAIL.sub(" ", _URL.sub(" ", body))  # reported above; their digits are not figures
    dates = set(allowed_dates) | {verdict.as_of.isoformat()}
    for match in _ISO_DATE.finditer(body):
        if match.group(0) not in dates:
            problems.append(f"date {match.group(0)} is not in the verdict")
    body = _ISO_DATE.sub(" ", body)

    allowed = allowed_numbers(verdict, extra_numbers)
    for match in _NUMBER.finditer(body):
        literal = match.group(0)
        value = float((match.group(1) + (match.group(2) or "")).replace(",", ""))
        if _key(value) not in allowed:
            problems.append(f"number {literal} is not in the verdict")
    for match in _NUMBER_WORD.finditer(body):
        if _is_number_words(match.group(0).strip(" -")):
            problems.append(
                f"number {match.group(0).strip()!r} written as words (figures are written in digits)"
            )

    present = signals_in_verdict(verdict)
    for spec in all_signal_specs():
        if spec.id not in present and _mention_pattern(spec.mentions).search(body):
            problems.append(f"names the {spec.label} signal, which the verdict has no value for")

    _, verdict_bands = _verdict_facts(verdict)
    verdict_bands.add(verdict.health.band.value)
    for match in _BAND_WORD.finditer(body):
        if match.group(1).upper() not in verdict_bands:
            problems.append(f"band {match.group(1).upper()} is not the verdict's")
    return GroundingResult(tuple(dict.fromkeys(problems)))
