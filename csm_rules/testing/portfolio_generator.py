"""A seeded generator of realistic synthetic portfolios, with an optional latent churn process.

``generate_portfolio(n, seed=..., as_of=...)`` returns ``n`` dicts of ``AccountSnapshot`` fields; every one
validates with ``AccountSnapshot(**record)``. The same ``seed`` gives the same output in any process (one
``random.Random(seed)``, no global state, no set iteration).

How an account is made
======================
1. **Stratified draws.** Segment (enterprise 20 %, mid_market 35 %, smb 45 %), trajectory archetype,
   data-quality profile and finances are dealt from shuffled "decks" holding each value in proportion, so even
   a 60-account sample holds every kind of account in about the stated shares.
2. **Latent state, never written to the output.**

   - ``health`` *h*: the account's true health now, by archetype: thriving N(1.1, 0.45), steady N(0.35, 0.5),
     declining N(-0.1, 0.5), struggling N(-1.0, 0.5), recovering N(-0.45, 0.45);
   - ``slope``: drift of *h* per month (thriving +0.05, declining -0.13, recovering +0.10, others about 0);
   - ``technical`` = 0.55·h + 0.85·N(0, 1): the product's technical health, as the TAM agent sees it;
   - ``budget_stress``: financial pressure, N(1.7, 0.5) for the 12 % "strained" accounts, else N(0, 0.6)
     (+0.2 for smb);
   - ``champion``: whether an engaged internal champion exists, P = logistic(0.2 + 1.2·h);
   - ``appetite``: readiness to buy more seats (most thriving accounts: utilisation 0.9-1.15).
3. **Observed signals = latent + noise.** Each signal reads its own noisy copy of the latent state (noise sd
   0.4-0.8 in latent units), so no single signal is reliable and several together are better. Feature
   adoption, login frequency, last interaction, tickets and sentiment, NPS and CSAT read *h*; usage trend and
   usage history read *slope*; TAM RAG and escalations read ``technical``; payment status and collections risk
   read ``budget_stress``; stakeholder engagement reads ``champion`` and *h*; seat utilisation reads *h* and
   ``appetite``. Health history is 6-12 monthly points of 55 + 20·h(t) + noise along the latent trajectory,
   banded GREEN >= 70, AMBER >= 40, else RED (the score rounded to one decimal first).
4. **Data quality.** 55 % complete, 25 % with gaps (each signal missing with P 0.15), 12 % with 1-3 stale
   signals (``observed_at`` 60-120 days before ``as_of``), 8 % sparse (only 3-5 signals). Inputs use the
   host's alternative shapes (a date or a day count, a trend label, a percentage or a usage history; a rate or
   per-feature usage), and TAM RAG is mostly written "Red" / "Amber" / "Green" as the TAM agent does. Exactly
   one account (not a thriving one) carries a CSM ``override``.

Churn outcomes (``with_outcomes=True``)
=======================================
Outcomes are drawn from the latent state, not from the signals, and from no scoring formula:

- the trajectory goes on and meets unobserved shocks: ``h_future = h + 6·slope + N(0, 0.6)``;
- a present champion leaves within the year with P 0.12 (unobserved);
- ``logit = base - 1.5·h_future + 0.55·max(budget_stress, 0) + 0.7·[no champion] + 0.9·[champion leaves]``,
  base -3.5 enterprise, -3.2 mid_market, -2.8 smb;
- churn happens at renewal: when the renewal falls within 365 days of ``as_of``, P(churn) = logistic(logit)
  and ``churn_date`` is the renewal date; otherwise (multi-year terms) P is 0.3·logistic(logit) and the date
  is uniform within the year (early termination);
- 2 % of accounts churn whatever their state (acquired, insolvent), which no signal can foresee.

The realistic structure (``structure="realistic"``)
===================================================
What real customer-success data look like, for testing whether a config (or a fitted model) copes:

- **segment-specific drivers:** enterprise churn follows technical health (TAM RAG, escalations) and the
  champion, ``logit = -3.0 - 0.5·h_future - 1.1·technical + 1.0·[no champion] + 1.2·[champion leaves]``;
  smb churn follows the usage slope and budget, ``-2.9 - 0.7·h_future - 9·slope + 1.1·max(stress, 0)
  + 0.3·[no champion]``; mid_market keeps the additive formula;
- **renewal-gated satisfaction:** NPS / CSAT read a latent ``sentiment`` = 0.5·h + N(0, 0.8), which
  lowers the logit by 1.0·sentiment only when the renewal is within 120 days;
- **missing not at random:** each signal is missing with its own rate (satisfaction 45 %, stakeholder
  engagement 40 %, TAM 35 %, support and escalations 30 %, telemetry 20-25 %, payment 10 %, renewal 5 %)
  × exp(-0.35·h), so unhealthy accounts show less; 15 % of accounts have **no product telemetry** at all
  (no feature adoption, logins, usage trend or seat utilisation) and churn more (+0.7 on the logit);
- **label noise:** 3 % of outcomes are flipped; multi-year contracts churn at 0.3× the rate, as above.

The additive structure's accounts are unchanged by this option (its extra draws come last).

What to expect (2,000 accounts): a churn rate near 17 % (smb about 20 %, mid_market 15 %, enterprise 12 %);
latest history band about 25 % GREEN, 57 % AMBER, 18 % RED; a plain weighted average of the observed signals
ranks churners with a ROC AUC of about 0.73-0.78 — informative, not perfect. The observable fields come from a
random stream of their own, so ``with_outcomes`` only adds ``churned`` and ``churn_date`` and changes nothing
else.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from csm_rules.domain.snapshot import payment_status_for_days

__all__ = ["FEATURES", "INTEGRATIONS", "MODULES", "SEGMENTS", "STRUCTURES", "generate_portfolio"]

#: Churn structures :func:`generate_portfolio` can draw (see the module docstring).
STRUCTURES: tuple[str, ...] = ("additive", "realistic")

#: Segments, in the order their shares are dealt.
SEGMENTS: tuple[str, ...] = ("enterprise", "mid_market", "smb")
#: Product modules an account can own (the expansion rules price them from thresholds.yaml).
MODULES: tuple[str, ...] = (
    "analytics_pro",
    "automation",
    "advanced_security",
    "api_access",
    "premium_support",
    "data_warehouse_sync",
)
#: Third-party integrations an account can connect.
INTEGRATIONS: tuple[str, ...] = (
    "salesforce",
    "hubspot",
    "slack",
    "jira",
    "zendesk",
    "microsoft_teams",
    "snowflake",
)
#: Product features whose per-account adoption rate is tracked.
FEATURES: tuple[str, ...] = ("dashboards", "reports", "automations", "api", "alerts", "sso", "integrations")

_HORIZON_DAYS = 365

# the realistic structure (see the module docstring)
_NO_TELEMETRY_SHARE = 0.15
_TELEMETRY: frozenset[str] = frozenset(
    ("feature_adoption", "login_frequency", "usage_trend", "seat_utilization")  # data
)
#: per-signal chance of being missing for an account of average health (scaled by exp(-0.35·h))
_MISSING_RATE: dict[str, float] = dict(
    zip(
        (  # data
            "feature_adoption",
            "support",
            "last_interaction",
            "login_frequency",
            "usage_trend",
            "payment",
            "stakeholder_engagement",
            "satisfaction",
            "renewal_proximity",
            "seat_utilization",
            "escalations",
            "tam_health",
        ),
        (0.2, 0.3, 0.25, 0.2, 0.25, 0.1, 0.4, 0.45, 0.05, 0.2, 0.3, 0.35),
        strict=True,
    )
)
_SATISFACTION_WINDOW_DAYS = 120
_LABEL_NOISE = 0.03


@dataclass(frozen=True)
class _Segment:
    share: float
    seats: tuple[int, int]  # drawn log-uniformly
    price_per_seat: tuple[float, float]  # annual list price per seat, USD
    modules: tuple[int, int]
    integrations: tuple[int, int]
    multi_year_share: float  # contracts whose renewal lies beyond the next 12 months
    churn_base: float  # logit offset of the churn process
    feature_lift: dict[str, float]  # segment-specific popularity shift per feature (logit units)
    reps: tuple[int, ...]  # indexes into _REPS


_SEGMENT_PROFILES: dict[str, _Segment] = {
    "enterprise": _Segment(
        0.20, (300, 4000), (520.0, 980.0), (2, 5), (3, 6), 0.35, -3.5, {"sso": 1.2, "api": 0.6}, (0, 1)
    ),
    "mid_market": _Segment(
        0.35, (40, 400), (420.0, 780.0), (1, 3), (2, 4), 0.15, -3.2, {"sso": 0.0}, (2, 3, 4)
    ),
    "smb": _Segment(
        0.45, (5, 60), (300.0, 600.0), (0, 2), (1, 3), 0.05, -2.8, {"sso": -1.6, "api": -0.8}, (5, 6, 7)
    ),
}

# archetype: (share, health mean, health sd, slope mean, slope sd, share with high seat appetite)
_ARCHETYPES: dict[str, tuple[float, float, float, float, float, float]] = {
    "thriving": (0.22, 1.1, 0.45, 0.05, 0.04, 0.75),
    "steady": (0.33, 0.35, 0.5, 0.0, 0.04, 0.15),
    "declining": (0.18, -0.1, 0.5, -0.13, 0.05, 0.05),
    "struggling": (0.15, -1.0, 0.5, -0.03, 0.05, 0.0),
    "recovering": (0.12, -0.45, 0.45, 0.10, 0.04, 0.1),
}
_QUALITY: dict[str, float] = {"complete": 0.55, "gaps": 0.25, "stale": 0.12, "sparse": 0.08}
_FINANCES: dict[str, float] = {"sound": 0.88, "strained": 0.12}

# feature → typical adoption rate for an account of average health
_FEATURE_POPULARITY: dict[str, float] = {
    "dashboards": 0.78,
    "reports": 0.62,
    "automations": 0.45,
    "api": 0.25,
    "alerts": 0.55,
    "sso": 0.5,
    "integrations": 0.4,
}

_REPS: tuple[tuple[str, str, str], ...] = (
    ("Priya Raman", "priya.raman@example.com", "@priya.raman"),
    ("Marcus Chen", "marcus.chen@example.com", "@marcus.chen"),
    ("Sofia Alvarez", "sofia.alvarez@example.com", "@sofia.alvarez"),
    ("James O'Connor", "james.oconnor@example.com", "@james.oconnor"),
    ("Aisha Bello", "aisha.bello@example.com", "@aisha.bello"),
    ("Tom Lindqvist", "tom.lindqvist@example.com", "@tom.lindqvist"),
    ("Hannah Weiss", "hannah.weiss@example.com", "@hannah.weiss"),
    ("Daniel Okafor", "daniel.okafor@example.com", "@daniel.okafor"),
)

_NAME_STEMS: tuple[str, ...] = (
    "Acme",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Globex",
    "Blue Harbor",
    "Silverline",
    "Redwood",
    "Summit",
    "Pinecrest",
    "Brightpath",
    "Ironclad",
    "Lakeshore",
    "Meridian",
    "Copperleaf",
    "Harborview",
    "Evergreen",
    "Tidewater",
    "Granite Peak",
    "Sunfield",
    "Oakridge",
    "Crestline",
    "Bluebird",
    "Keystone",
    "Riverbend",
    "Starling",
    "Westbrook",
    "Halcyon",
    "Vantage",
    "Northstar",
    "Juniper",
    "Aspen",
    "Cobalt",
    "Lumen",
    "Orchid",
    "Atlas",
    "Beacon",
    "Cedar",
    "Driftwood",
    "Falcon Ridge",
)
_NAME_KINDS: tuple[str, ...] = (
    "Corp",
    "Logistics",
    "Health",
    "Analytics",
    "Manufacturing",
    "Foods",
    "Financial",
    "Energy",
    "Retail",
    "Labs",
    "Software",
    "Media",
    "Biotech",
    "Freight",
    "Insurance",
    "Hospitality",
    "Education",
    "Robotics",
    "Consulting",
    "Telecom",
)
# appended once every stem×kind pair is used, so large portfolios keep distinct names
_NAME_QUALIFIERS: tuple[str, ...] = ("Group", "Holdings", "International", "EMEA", "APAC", "Americas")

_NOTES: dict[str, tuple[str, ...]] = {
    "thriving": (
        "Exec sponsor asked about rolling out to the EMEA team next quarter.",
        "Power users in ops asked for more automation seats.",
    ),
    "steady": ("Quarterly cadence in place; no open asks.", "Admin changed in September; onboarding done."),
    "declining": (
        "Champion moved to a new role in August; new owner not yet engaged.",
        "Usage dipped after their reorg; they are evaluating a competitor.",
    ),
    "struggling": (
        "Budget review in progress; procurement asked for a discount.",
        "Repeated sync failures with their CRM; frustration in the last call.",
    ),
    "recovering": ("Remediation plan agreed after the Q2 escalation; usage is coming back.",),
}
_TICKET_SUBJECTS: tuple[str, ...] = (
    "Dashboard export times out",
    "SSO login loop for some users",
    "Salesforce sync missing records",
    "Report schedule not sent",
    "API rate limit questions",
    "Alert emails going to spam",
    "Seat assignment not updating",
    "Automation stopped running after update",
)


def generate_portfolio(
    n: int, *, seed: int, as_of: date, with_outcomes: bool = False, structure: str = "additive"
) -> list[dict[str, Any]]:
    """``n`` realistic account snapshots (as dicts of AccountSnapshot fields) as of ``as_of``.

    Deterministic for a given ``seed``. ``structure`` is ``"additive"`` (the default, described first in the
    module docstring) or ``"realistic"`` (segment-specific drivers, renewal-gated satisfaction, missing data
    not at random, no-telemetry accounts, label noise; see "The realistic structure"). With
    ``with_outcomes`` each dict also holds ``churned`` (bool) and ``churn_date`` (date or None) from the
    latent churn process in the module docstring; strip them before building a snapshot
    (:class:`~csm_rules.sources.portfolio_files.FileSource` does). Account ids are
    ``acc-00001``, ``acc-00002``... in order; dates are :class:`datetime.date` objects.

    Example::

        records = generate_portfolio(100, seed=7, as_of=date(2026, 11, 24))
        snapshots = [AccountSnapshot(**r) for r in records]
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if structure not in STRUCTURES:
        raise ValueError(f"structure must be one of {', '.join(STRUCTURES)}, got {structure!r}")
    rng = random.Random(seed)
    segments = _deck(rng, n, {name: profile.share for name, profile in _SEGMENT_PROFILES.items()})
    archetypes = _deck(rng, n, {name: spec[0] for name, spec in _ARCHETYPES.items()})
    qualities = _deck(rng, n, _QUALITY)
    finances = _deck(rng, n, _FINANCES)
    names = _company_names(rng, n)
    # the override goes to an account a CSM would plausibly defend: one that is not thriving
    candidates = [i for i, kind in enumerate(archetypes) if kind != "thriving"] or list(range(n))
    override_index = rng.choice(candidates) if candidates else -1
    width = max(5, len(str(n)))
    records: list[dict[str, Any]] = []
    for index in range(n):
        # separate streams: outcomes never shift the observable values, whatever with_outcomes says
        account_rng = random.Random(rng.getrandbits(64))
        outcome_rng = random.Random(rng.getrandbits(64))
        account = _Account(
            rng=account_rng,
            account_id=f"acc-{index + 1:0{width}d}",
            name=names[index],
            segment=segments[index],
            archetype=archetypes[index],
            quality=qualities[index],
            strained=finances[index] == "strained",
            as_of=as_of,
            realistic=structure == "realistic",
        )
        record = account.record(with_override=index == override_index)
        if with_outcomes:
            churned, churn_date = account.outcome(outcome_rng)
            record["churned"] = churned
            record["churn_date"] = churn_date
        records.append(record)
    return records


def _deck(rng: random.Random, n: int, shares: dict[str, float]) -> list[str]:
    """``n`` values in proportion to ``shares`` (largest remainders), shuffled: stratified, not i.i.d."""
    total = sum(shares.values())
    exact = {name: n * share / total for name, share in shares.items()}
    counts = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda name: (-(exact[name] - counts[name]), name))
    for name in by_remainder[: n - sum(counts.values())]:
        counts[name] += 1
    deck = [name for name in shares for _ in range(counts[name])]
    rng.shuffle(deck)
    return deck


def _company_names(rng: random.Random, n: int) -> list[str]:
    pairs = [f"{stem} {kind}" for stem in _NAME_STEMS for kind in _NAME_KINDS]
    names: list[str] = []
    round_ = 0
    while len(names) < n:
        batch = pairs[:]
        rng.shuffle(batch)
        if round_:
            qualifier = _NAME_QUALIFIERS[(round_ - 1) % len(_NAME_QUALIFIERS)]
            cycle = (round_ - 1) // len(_NAME_QUALIFIERS)
            batch = [f"{name} {qualifier}" + (f" {cycle + 1}" if cycle else "") for name in batch]
        names.extend(batch[: n - len(names)])
        round_ += 1
    return names


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam > 30:  # normal approximation; Knuth's product method underflows for large rates
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, product = math.exp(-lam), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _month_start(day: date, months_back: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months_back
    return date(month_index // 12, month_index % 12 + 1, 1)


def _collections_risk(stress: float) -> str:
    if stress > 1.8:
        return "CRITICAL"
    if stress > 1.2:
        return "RED"
    return "AMBER" if stress > 0.6 else "GREEN"


def _band(score: float) -> str:
    return "GREEN" if score >= 70 else "AMBER" if score >= 40 else "RED"


class _Account:
    """One synthetic account: its latent state and the signals it shows."""

    def __init__(
        self,
        *,
        rng: random.Random,
        account_id: str,
        name: str,
        segment: str,
        archetype: str,
        quality: str,
        strained: bool,
        as_of: date,
        realistic: bool = False,
    ) -> None:
        self.rng, self.account_id, self.name, self.as_of = rng, account_id, name, as_of
        self.segment, self.archetype, self.quality = segment, archetype, quality
        self.profile = _SEGMENT_PROFILES[segment]
        _, mean, sd, slope_mean, slope_sd, appetite_share = _ARCHETYPES[archetype]
        self.health = rng.gauss(mean, sd)
        self.slope = rng.gauss(slope_mean, slope_sd)
        self.technical = 0.55 * self.health + 0.85 * rng.gauss(0, 1)
        if strained:
            self.budget_stress = rng.gauss(1.7, 0.5)
        else:
            self.budget_stress = rng.gauss(0.2 if segment == "smb" else 0.0, 0.6)
        self.champion = rng.random() < _logistic(0.2 + 1.2 * self.health)
        self.appetite = rng.random() < appetite_share
        low, high = self.profile.seats
        seats = math.exp(rng.uniform(math.log(low), math.log(high)))
        self.seats = max(1, round(seats / 10) * 10 if seats > 100 else round(seats))
        utilisation = 0.66 + 0.12 * self.health + rng.gauss(0, 0.08)
        if self.appetite:
            utilisation = rng.uniform(0.9, 1.15)  # out of seats: the classic seat-expansion signal
        self.utilisation = _clamp(utilisation, 0.08, 1.3)
        self.seats_used = round(self.utilisation * self.seats)
        multi_year = rng.random() < self.profile.multi_year_share
        self.days_to_renewal = rng.randint(366, 900) if multi_year else rng.randint(1, _HORIZON_DAYS)
        self.realistic = realistic
        if realistic:  # drawn last, so the additive structure's draws are untouched
            self.sentiment = 0.5 * self.health + rng.gauss(0, 0.8)
            self.no_telemetry = rng.random() < _NO_TELEMETRY_SHARE

    def noisy(self, latent: float, sd: float) -> float:
        return latent + self.rng.gauss(0, sd)

    def record(self, *, with_override: bool) -> dict[str, Any]:
        rng, as_of = self.rng, self.as_of
        price = round(rng.uniform(*self.profile.price_per_seat), -1)
        modules = self._pick(MODULES, self.profile.modules)
        integrations = self._pick(INTEGRATIONS, self.profile.integrations)
        arr = round(self.seats * price * (1 + 0.08 * len(modules)), -2)
        rep = _REPS[rng.choice(self.profile.reps)]
        renewal = as_of + timedelta(days=self.days_to_renewal)
        record: dict[str, Any] = {
            "account_id": self.account_id,
            "name": self.name,
            "as_of": as_of,
            "segment": self.segment,
            "owner": {"name": rep[0], "email": rep[1], "chat_handle": rep[2]},
            "arr": float(arr),
            "seats_purchased": self.seats,
            "price_per_seat": float(price),
            "modules_owned": modules,
            "integrations_connected": integrations,
            "contract_end_date": renewal - timedelta(days=1),
        }
        # finance's view of the budget stress; payment status and collections risk both read it
        self.stress = self.noisy(self.budget_stress, 0.5)
        signals = self._signals(renewal)
        present = self._present(list(signals))
        for signal in present:
            record.update(signals[signal])
        observed = self._observed_at(present)
        if observed:
            record["observed_at"] = observed
        if self.stress > 1.2 or rng.random() < 0.85:
            # a finance rating, not a health signal: flagged accounts always carry it, others mostly
            record["collections_risk"] = _collections_risk(self.stress)
        record["health_history"] = self._history()
        record["value_metrics"] = self._value_metrics(arr)
        if rng.random() < 0.25:
            record["notes"] = rng.choice(_NOTES[self.archetype])
        tickets = record.get("open_ticket_count", 0)
        if tickets and rng.random() < 0.5:
            record["ticket_subjects"] = rng.sample(_TICKET_SUBJECTS, min(tickets, 3))
        if with_override:
            record["override"] = {
                "band": "AMBER",
                "reason": "Exec sponsor confirmed the renewal budget; the usage dip is a seasonal freeze.",
                "set_by": rep[1],
                "expires": as_of + timedelta(days=45),
            }
        return record

    def _pick(self, catalog: tuple[str, ...], count: tuple[int, int]) -> list[str]:
        chosen = self.rng.sample(catalog, self.rng.randint(*count))
        return sorted(chosen, key=catalog.index)

    def _signals(self, renewal: date) -> dict[str, dict[str, Any]]:
        """Every signal's fields, keyed by signal id; which of them the record shows is decided afterwards."""
        rng, as_of, health = self.rng, self.as_of, self.health
        signals: dict[str, dict[str, Any]] = {}

        adoption = self.noisy(health, 0.6)
        features: list[dict[str, Any]] = []
        for feature in FEATURES:
            if self.segment == "smb" and feature == "sso" and rng.random() < 0.7:
                continue  # most small customers do not buy SSO at all
            base = _logit(_FEATURE_POPULARITY[feature]) + self.profile.feature_lift.get(feature, 0.0)
            rate = round(_clamp(_logistic(base + 0.9 * adoption + rng.gauss(0, 0.35)), 0.0, 1.0), 2)
            features.append(
                {"name": feature, "adoption_rate": rate, "active_users": round(rate * self.seats_used)}
            )
        if rng.random() < 0.15:
            mean_rate = sum(f["adoption_rate"] for f in features) / len(features)
            signals["feature_adoption"] = {"feature_adoption_rate": round(mean_rate, 2)}
        else:
            signals["feature_adoption"] = {"features": features}

        support = self.noisy(health, 0.8)
        tickets = _poisson(rng, 0.35 * self.seats**0.4 * math.exp(-0.5 * support))
        sentiment = "positive" if support > 0.6 else "neutral" if support > -0.4 else "negative"
        if support < -1.4:
            sentiment = "critical"
        signals["support"] = {"open_ticket_count": tickets, "avg_ticket_sentiment": sentiment}

        days_quiet = round(_clamp(math.exp(2.4 - 0.6 * self.noisy(health, 0.8)), 0, 240))
        if rng.random() < 0.7:
            signals["last_interaction"] = {"last_interaction_date": as_of - timedelta(days=days_quiet)}
        else:
            signals["last_interaction"] = {"days_since_last_interaction": days_quiet}

        login_days = round(_clamp(math.exp(1.1 - 0.75 * self.noisy(health, 0.7)), 0.2, 60.0), 1)
        signals["login_frequency"] = {"login_frequency_days": login_days}

        signals["usage_trend"] = self._usage()

        stress = self.stress
        overdue = 0
        if stress > 1.7:
            overdue = rng.randint(90, 150)
        elif stress > 1.2:
            overdue = rng.randint(60, 89)
        elif stress > 0.6:
            overdue = rng.randint(5, 59)
        if rng.random() < 0.5:
            signals["payment"] = {"invoice_days_overdue": overdue}
        else:
            signals["payment"] = {"invoice_payment_status": payment_status_for_days(overdue).value}

        engagement = 0.8 * self.champion + 0.5 * health + rng.gauss(0, 0.6)
        level = "high" if engagement > 0.9 else "medium" if engagement > 0.1 else "low"
        signals["stakeholder_engagement"] = {"stakeholder_engagement": level}

        satisfaction: dict[str, Any] = {}
        happy = self.noisy(self.sentiment, 0.5) if self.realistic else self.noisy(health, 0.8)
        if rng.random() < 0.75:
            satisfaction["nps_score"] = float(round(_clamp(7.0 + 1.6 * happy + rng.gauss(0, 1.0), 0, 10)))
        if not satisfaction or rng.random() < 0.5:
            satisfaction["csat"] = round(_clamp(3.9 + 0.5 * happy + rng.gauss(0, 0.3), 1, 5), 1)
        signals["satisfaction"] = satisfaction

        if rng.random() < 0.85:
            signals["renewal_proximity"] = {"renewal_date": renewal}
        else:
            signals["renewal_proximity"] = {"days_to_renewal": self.days_to_renewal}

        if rng.random() < 0.85:
            signals["seat_utilization"] = {"seats_used": self.seats_used}
        else:
            # six decimals, as the snapshot rounds a derived rate: deriving it again gives the same value
            signals["seat_utilization"] = {"seats_utilization_rate": round(self.seats_used / self.seats, 6)}

        escalations = _poisson(rng, 0.25 * math.exp(-1.0 * self.noisy(self.technical, 0.4)))
        escalation: dict[str, Any] = {"escalation_count_90_days": escalations}
        if escalations:
            escalation["last_escalation_date"] = as_of - timedelta(days=rng.randint(1, 89))
        elif rng.random() < 0.3:
            escalation["last_escalation_date"] = as_of - timedelta(days=rng.randint(95, 400))
        signals["escalations"] = escalation

        tam = self.noisy(self.technical, 0.3)
        rag = "Green" if tam > 0.3 else "Amber" if tam > -0.9 else "Red"
        signals["tam_health"] = {"tam_health_rag": rag if rng.random() < 0.8 else rag.upper()}

        return signals

    def _usage(self) -> dict[str, Any]:
        rng = self.rng
        observed_slope = self.noisy(self.slope, 0.05)
        if self.health < -1.6 and observed_slope < -0.08:
            return {"usage_trend": "inactive"}
        shape = rng.random()
        if shape < 0.4:
            level = 200.0 * self.seats_used**0.8 + 50.0
            points = []
            for months_back in range(5, -1, -1):
                value = level * math.exp(-observed_slope * 1.6 * months_back + rng.gauss(0, 0.04))
                points.append({"date": _month_start(self.as_of, months_back), "value": round(value, 1)})
            return {"usage_history": points}
        pct = round(_clamp(100.0 * (math.exp(1.6 * 3 * observed_slope) - 1.0), -100.0, 400.0), 1)
        if shape < 0.75:
            return {"usage_trend_pct": pct}
        label = "growing" if pct > 10 else "declining" if pct < -10 else "stable"
        return {"usage_trend": label}

    def _present(self, signals: list[str]) -> list[str]:
        """Which signals this record shows, by its data-quality profile (in a fixed order)."""
        rng = self.rng
        if self.realistic:
            # missing not at random: the less healthy the account, the more of its data is missing
            scale = math.exp(-0.35 * self.health)
            return [
                s
                for s in signals
                if not (self.no_telemetry and s in _TELEMETRY)
                and rng.random() >= min(0.9, _MISSING_RATE.get(s, 0.0) * scale)
            ]
        if self.quality == "sparse":
            keep = rng.sample(signals, rng.randint(3, 5))
            return [s for s in signals if s in keep]
        drop_chance = 0.15 if self.quality == "gaps" else 0.03
        present = [s for s in signals if rng.random() >= drop_chance]
        if self.quality == "gaps" and len(present) == len(signals):
            dropped = rng.choice(signals)
            present = [s for s in present if s != dropped]
        return present

    def _observed_at(self, present: list[str]) -> dict[str, date]:
        rng, as_of = self.rng, self.as_of
        observed: dict[str, date] = {}
        for signal in present:
            if rng.random() < 0.3:
                observed[signal] = as_of - timedelta(days=rng.randint(0, 21))
        if self.quality == "stale" and present:
            for signal in rng.sample(present, min(len(present), rng.randint(1, 3))):
                observed[signal] = as_of - timedelta(days=rng.randint(60, 120))
        return {signal: observed[signal] for signal in present if signal in observed}

    def _history(self) -> list[dict[str, Any]]:
        rng = self.rng
        months = rng.randint(6, 12)
        wobble = 0.0
        points: list[dict[str, Any]] = []
        with_subscores = rng.random() < 0.4
        for months_back in range(months - 1, -1, -1):
            wobble = 0.6 * wobble + rng.gauss(0, 0.12)  # AR(1): months resemble their neighbours
            latent = self.health - self.slope * months_back + wobble
            score = round(_clamp(55.0 + 20.0 * latent + rng.gauss(0, 5.0), 0.0, 100.0), 1)
            point: dict[str, Any] = {"date": _month_start(self.as_of, months_back), "score": score}
            point["band"] = _band(score)
            if with_subscores:
                point["subscores"] = {
                    signal: round(_clamp(55.0 + 22.0 * latent + rng.gauss(0, 12.0), 0.0, 100.0), 1)
                    # which signals the modelled history records sub-scores for: data, not a declaration
                    for signal in ("feature_adoption", "usage_trend", "support", "satisfaction")  # data
                }
            points.append(point)
        return points

    def _value_metrics(self, arr: float) -> dict[str, Any]:
        rng = self.rng
        adoption = _clamp(_logistic(0.3 + 0.9 * self.health), 0.05, 0.98)
        metrics: dict[str, Any] = {
            "time_saved_hours": float(round(self.seats_used * adoption * rng.uniform(2.0, 8.0))),
            "revenue_influenced": float(round(arr * adoption * rng.uniform(0.5, 3.0), -2)),
            "efficiency_gain_pct": round(max(0.0, 5.0 + 20.0 * adoption + rng.gauss(0, 4.0)), 1),
        }
        if rng.random() < 0.3:
            deflected = round(self.seats_used * adoption * rng.uniform(0.5, 3.0))
            metrics["other"] = [{"name": "tickets_deflected", "value": float(deflected), "unit": "tickets"}]
        return metrics

    def outcome(self, rng: random.Random) -> tuple[bool, date | None]:
        """Churn within a year of ``as_of``, from the latent state (see the module docstring)."""
        future = self.health + 6 * self.slope + rng.gauss(0, 0.6)
        champion_leaves = self.champion and rng.random() < 0.12
        if self.realistic:
            logit = self._realistic_logit(future, champion_leaves)
        else:
            logit = (
                self.profile.churn_base
                - 1.5 * future
                + 0.55 * max(self.budget_stress, 0.0)
                + 0.7 * (not self.champion)
                + 0.9 * champion_leaves
            )
        at_renewal = self.days_to_renewal <= _HORIZON_DAYS
        chance = _logistic(logit) if at_renewal else 0.3 * _logistic(logit)
        exogenous = rng.random() < 0.02
        churned = exogenous or rng.random() < chance
        if self.realistic and rng.random() < _LABEL_NOISE:
            churned = not churned  # mislabelled in the CRM: a win-back, a merger booked as churn…
        if not churned:
            return False, None
        if at_renewal:
            return True, self.as_of + timedelta(days=self.days_to_renewal)
        return True, self.as_of + timedelta(days=rng.randint(30, _HORIZON_DAYS))

    def _realistic_logit(self, future: float, champion_leaves: bool) -> float:
        """The realistic structure's churn logit: each segment has its own drivers (module docstring)."""
        stress = max(self.budget_stress, 0.0)
        if self.segment == "enterprise":
            logit = (
                -3.0 - 0.5 * future - 1.1 * self.technical + 1.0 * (not self.champion) + 1.2 * champion_leaves
            )
        elif self.segment == "smb":
            logit = -2.9 - 0.7 * future - 9.0 * self.slope + 1.1 * stress + 0.3 * (not self.champion)
        else:
            logit = -3.2 - 1.5 * future + 0.55 * stress + 0.7 * (not self.champion) + 0.9 * champion_leaves
        if self.days_to_renewal <= _SATISFACTION_WINDOW_DAYS:
            logit -= 1.0 * self.sentiment  # satisfaction decides the renewal talk, and only then
        return logit + 0.7 * self.no_telemetry


def next_day_portfolio(
    records: list[dict[str, Any]],
    *,
    seed: int,
    days: int = 1,
    worsened: int = 0,
    expanding: int = 0,
    new_accounts: int = 0,
) -> list[dict[str, Any]]:
    """``records`` (from :func:`generate_portfolio`) ``days`` later, with a few accounts changed: the input of
    the next daily scan.

    Every account's ``as_of`` moves on by ``days`` (dates such as the renewal stay, so day counts derived
    from them shrink). ``worsened`` accounts, drawn with ``seed``, turn at risk (usage declining, logins every
    45 days, low engagement, NPS 2, an invoice 95 days overdue); ``expanding`` other accounts grow into
    their seats (utilisation 0.97, usage growing, logins every 3 days, invoices paid); ``new_accounts``
    freshly generated accounts are appended, their ids continuing the numbering. Each changed signal
    loses every other input of that signal first (from :data:`~csm_rules.domain.signals.BUILTIN_SIGNALS`),
    so no changed account contradicts itself. The input is not modified.

    Example::

        day1 = generate_portfolio(300, seed=7, as_of=date(2026, 11, 24))
        day2 = next_day_portfolio(day1, seed=8, worsened=6, expanding=6, new_accounts=3)
    """
    if min(days, worsened, expanding, new_accounts) < 0 or worsened + expanding > len(records):
        raise ValueError("days and the counts must be >= 0, and worsened + expanding at most len(records)")
    if any("as_of" not in record for record in records):
        raise ValueError("every record needs its as_of (generate_portfolio writes one)")
    rng = random.Random(seed)
    chosen = rng.sample(range(len(records)), worsened + expanding)
    changes = dict.fromkeys(chosen[:worsened], _WORSENED) | dict.fromkeys(chosen[worsened:], _EXPANDING)
    moved: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        record = dict(record, as_of=date.fromisoformat(str(record["as_of"])) + timedelta(days=days))
        for signal, values in changes.get(index, ()):
            _set_signal(record, signal, values)
        moved.append(record)
    if new_accounts:
        as_of = max(r["as_of"] for r in moved) if moved else date.today()
        width = max(5, len(str(len(records) + new_accounts)))
        for offset, record in enumerate(generate_portfolio(new_accounts, seed=seed, as_of=as_of)):
            moved.append(dict(record, account_id=f"acc-{len(records) + offset + 1:0{width}d}"))
    return moved


# what next_day_portfolio sets, per signal id
_WORSENED: tuple[tuple[str, dict[str, Any]], ...] = (
    ("usage_trend", {"usage_trend": "declining"}),
    ("login_frequency", {"login_frequency_days": 45.0}),
    ("stakeholder_engagement", {"stakeholder_engagement": "low"}),
    ("satisfaction", {"nps_score": 2.0}),
    ("payment", {"invoice_days_overdue": 95}),
)
_EXPANDING: tuple[tuple[str, dict[str, Any]], ...] = (
    ("seat_utilization", {"seats_utilization_rate": 0.97}),
    ("usage_trend", {"usage_trend": "growing"}),
    ("login_frequency", {"login_frequency_days": 3.0}),
    ("payment", {"invoice_days_overdue": 0}),
)


def _set_signal(record: dict[str, Any], signal: str, values: dict[str, Any]) -> None:
    """Replace every input of ``signal`` in ``record`` with ``values`` (and forget when it was observed)."""
    from csm_rules.domain.signals import BUILTIN_SIGNALS

    [spec] = [s for s in BUILTIN_SIGNALS if s.id == signal]
    for name in (*(i.field for i in spec.inputs), *spec.derived_from):
        if name != "seats_purchased":  # what the account bought stays (it prices a seat expansion)
            record.pop(name, None)
    observed = record.get("observed_at")
    if isinstance(observed, dict) and signal in observed:
        record["observed_at"] = {k: v for k, v in observed.items() if k != signal}
    record.update(values)
