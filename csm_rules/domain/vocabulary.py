"""The closed vocabularies the rules speak: signal ids, bands, levels and categorical input values."""

from __future__ import annotations

from enum import EnumType, StrEnum
from typing import TYPE_CHECKING, Any


class _AnyCaseType(EnumType):
    """Metaclass of the any-case enums: looks a plain string up in any case before Enum's own path.

    pydantic validates an enum input that is not an exact value by calling the class, and Enum's
    route from there to ``_missing_`` (a failed lookup, an exception raised and caught, then the
    hook) costs ~900 ns; two dict lookups here cost ~250 ns. "Red" is the usual case, not the
    exception: the TAM agent writes it on most accounts. Everything else (members, non-strings,
    unknown values, the functional API) goes to ``EnumType.__call__`` unchanged.
    """

    if not TYPE_CHECKING:  # keep EnumType's typed signature for callers

        def __call__(cls, value: Any, *args: Any, **kwargs: Any) -> Any:
            if type(value) is str and not args and not kwargs:
                member = cls._value2member_map_.get(value)
                if member is None:
                    member = cls._member_map_.get(value.upper())
                if member is not None:
                    return member
            return super().__call__(value, *args, **kwargs)


class _AnyCase(StrEnum, metaclass=_AnyCaseType):
    """Accepts its values in any case: the TAM agent writes "Red", finance writes "critical"."""

    @classmethod
    def _missing_(cls, value: object) -> _AnyCase | None:
        # Called only when the exact value is not a member; pydantic's enum validation uses it too,
        # so snapshots accept any case without a Python validator on every field. (Plain strings
        # are already handled by the metaclass; this covers str subclasses.) ``_member_map_`` is
        # the dict behind ``__members__``, which builds a new mappingproxy on every read.
        if isinstance(value, str):
            member = cls._member_map_.get(value.upper())
            return member if isinstance(member, cls) else None
        return None


class Band(_AnyCase):
    """RED/AMBER/GREEN health band (accepts any case on input)."""

    GREEN = "GREEN"
    AMBER = "AMBER"
    RED = "RED"


BAND_ORDER: dict[Band, int] = {Band.RED: 0, Band.AMBER: 1, Band.GREEN: 2}


class ChurnLevel(StrEnum):
    """Churn risk level, ordered low < medium < high < critical."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


CHURN_ORDER: tuple[ChurnLevel, ...] = (
    ChurnLevel.LOW,
    ChurnLevel.MEDIUM,
    ChurnLevel.HIGH,
    ChurnLevel.CRITICAL,
)


class TriggeredBy(StrEnum):
    """Which churn trigger families fired."""

    CONTRACT_PROXIMITY = "contract_proximity"
    BEHAVIORAL = "behavioral"
    BOTH = "both"


class UsageTrend(StrEnum):
    """Direction of product usage."""

    GROWING = "growing"
    STABLE = "stable"
    DECLINING = "declining"
    INACTIVE = "inactive"


class Sentiment(StrEnum):
    """Average sentiment of support tickets."""

    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    CRITICAL = "critical"


class PaymentStatus(StrEnum):
    """Invoice payment status; ``overdue_30`` is 1-59 days late, ``overdue_60`` 60-89, then 90+."""

    CURRENT = "current"
    OVERDUE_30 = "overdue_30"
    OVERDUE_60 = "overdue_60"
    OVERDUE_90_PLUS = "overdue_90_plus"


class Engagement(StrEnum):
    """Stakeholder engagement."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class CollectionsRisk(_AnyCase):
    """Collections (finance) risk rating (accepts any case on input)."""

    GREEN = "GREEN"
    AMBER = "AMBER"
    RED = "RED"
    CRITICAL = "CRITICAL"


class OpportunityType(StrEnum):
    """Kind of expansion opportunity handed to the Sales Agent."""

    SEATS = "seats"
    MODULE = "module"
    INTEGRATION = "integration"


class Confidence(StrEnum):
    """Confidence in an expansion opportunity."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class QBRKind(StrEnum):
    """Why a QBR is due."""

    QUARTERLY = "quarterly"
    CONTRACT = "contract"
