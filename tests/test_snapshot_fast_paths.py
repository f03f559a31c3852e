"""Any-case enums behave like plain enums apart from the case; snapshot derivations are stable.

(The speed shortcuts this file used to pin — a hand-rolled ``round(x, 6)`` and an enum metaclass —
are gone: the benchmark showed they bought too little for the code they cost.)
"""

from __future__ import annotations

import itertools
import pickle
from datetime import date, timedelta
from enum import Enum

import pytest
from pydantic import BaseModel, ValidationError

import csm_rules
from csm_rules.domain.vocabulary import Band, CollectionsRisk, _AnyCase

AS_OF = date(2026, 11, 24)


@pytest.mark.parametrize("enum", [Band, CollectionsRisk])
def test_any_case_enum_finds_every_spelling(enum: type[Band] | type[CollectionsRisk]) -> None:
    for member in enum:
        spellings = {
            "".join(c) for c in itertools.product(*((ch.lower(), ch.upper()) for ch in member.value))
        }
        for written in spellings:
            assert enum(written) is member
        assert enum(member) is member
        assert pickle.loads(pickle.dumps(member)) is member


class _Text(str):
    pass


@pytest.mark.parametrize("written", [_Text("red"), _Text("RED")])
def test_any_case_enum_accepts_str_subclasses(written: str) -> None:
    assert Band(written) is Band.RED


@pytest.mark.parametrize("value", ["PURPLE", "", " red", "red ", 1, None, b"RED", 1.5])
def test_any_case_enum_rejects_like_enum(value: object) -> None:
    with pytest.raises(ValueError, match="is not a valid Band") as info:
        Band(value)  # type: ignore[arg-type]
    assert str(info.value) == f"{value!r} is not a valid Band"


def test_any_case_enum_keeps_the_functional_api() -> None:
    made = _AnyCase("Made", ["X", "Y"])  # type: ignore[call-arg]
    assert isinstance(made, type) and issubclass(made, Enum)
    assert made("x") is made.X
    with pytest.raises(TypeError, match="cannot extend"):
        Band("Made", ["X", "Y"])


def test_pydantic_validation_of_any_case_enum() -> None:
    class Holder(BaseModel):
        band: Band
        risk: CollectionsRisk

    holder = Holder(band="aMbEr", risk="critical")
    assert holder.band is Band.AMBER and holder.risk is CollectionsRisk.CRITICAL
    with pytest.raises(ValidationError, match="Input should be 'GREEN', 'AMBER' or 'RED'"):
        Holder(band="PURPLE", risk="RED")


def test_future_health_point_named_is_the_first_one() -> None:
    history = [
        {"date": AS_OF - timedelta(days=30), "score": 50.0, "band": "AMBER"},
        {"date": AS_OF + timedelta(days=9), "score": 50.0, "band": "AMBER"},
        {"date": AS_OF + timedelta(days=2), "score": 50.0, "band": "AMBER"},
    ]
    with pytest.raises(csm_rules.SnapshotError) as info:
        csm_rules.AccountSnapshot(account_id="acc-7", as_of=AS_OF, health_history=history)
    assert f"{(AS_OF + timedelta(days=9)).isoformat()} is after as_of" in str(info.value)
    assert info.value.fields == ("health_history",)


def test_snapshot_derivation_is_idempotent_when_rebuilt_from_its_dump() -> None:
    snapshot = csm_rules.AccountSnapshot(
        account_id="acc-7",
        as_of=AS_OF,
        last_interaction_date=AS_OF - timedelta(days=3),
        renewal_date=AS_OF + timedelta(days=40),
        invoice_days_overdue=61,
        seats_used=1,
        seats_purchased=3,
        features=[{"name": "a", "adoption_rate": 0.1}, {"name": "b", "adoption_rate": 0.2}],
        health_history=[
            {"date": AS_OF - timedelta(days=1), "score": 50.0, "band": "Amber"},
            {"date": AS_OF - timedelta(days=31), "score": 70.0, "band": "green"},
        ],
    )
    assert snapshot.seats_utilization_rate == round(1 / 3, 6)
    assert snapshot.feature_adoption_rate == round((0.1 + 0.2) / 2, 6)
    assert [p.date for p in snapshot.health_history] == [
        AS_OF - timedelta(days=31),
        AS_OF - timedelta(days=1),
    ]
    assert csm_rules.AccountSnapshot(**snapshot.model_dump()) == snapshot
