"""What the F3548 use-cases take and give: requests and results as frozen values.

The edge (:mod:`deconfliction.interop.f3548.wire`) parses the wire into these with the
``uas-standards`` models and renders the results back; the use-cases never see JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Final

from uas_standards.astm.f3548.v21 import constants as f3548_constants
from uas_standards.astm.f3548.v21.api import OperationalIntentState as OIState
from uas_standards.astm.f3548.v21.api import UssAvailabilityState

from deconfliction.engine.operation import OperationState
from deconfliction.errors import Conflict, InvalidTimeWindow
from deconfliction.geo.altitude import ALTITUDE_LIMITS_M, AltitudeBand, Datum
from deconfliction.geo.cells import covering
from deconfliction.geo.footprint import Footprint
from deconfliction.geo.timewindow import TimeWindow
from deconfliction.geo.volume import Volume4D

# The two kinds of entity, re-exported for the edge (which does not import the store).
from deconfliction.store.f3548 import CONSTRAINT as CONSTRAINT
from deconfliction.store.f3548 import OPERATIONAL_INTENT as OPERATIONAL_INTENT
from deconfliction.store.f3548 import DssEntity, DssSubscription, SearchBox
from deconfliction.store.f3548_bridge import BridgeConstraint
from deconfliction.store.sql import RESOLUTION

#: F3548 operational intent states a reference may be put in, and the state of the
#: operation that carries it: all of them still claim airspace.
OI_STATES: Final = {
    OIState.Accepted.value: OperationState.ACCEPTED,
    OIState.Activated.value: OperationState.ACTIVATED,
    OIState.Nonconforming.value: OperationState.ACTIVATED,
    OIState.Contingent.value: OperationState.ACTIVATED,
}
#: States whose key must hold every intersecting intent (F3548-21 SCD0035, SCD0040).
KEY_STATES: Final = frozenset({OIState.Accepted.value, OIState.Activated.value})
#: Off-nominal states: only conformance monitoring (``utm.conformance_monitoring_sa``)
#: may put an intent in them (SCD0100).
OFF_NOMINAL_STATES: Final = frozenset({OIState.Nonconforming.value, OIState.Contingent.value})
#: The state every intent is created in.
INITIAL_STATE: Final = OIState.Accepted.value
AVAILABILITIES: Final = tuple(a.value for a in UssAvailabilityState)
#: Largest area a reference, subscription or query may cover (F3548 / InterUSS DSS).
MAX_AREA_M2: Final = 2500e6
#: Most references or subscriptions one query returns.
MAX_RESULTS: Final = 10_000
#: Longest subscription (F3548-21 DSSMaxSubscriptionDurationHours, DSS0015).
MAX_SUBSCRIPTION: Final = timedelta(hours=f3548_constants.DSSMaxSubscriptionDurationHours)
#: How far in the past a subscription may be asked to start: USS clocks differ.
MAX_CLOCK_SKEW: Final = timedelta(minutes=5)
#: How much later than a dependent intent a subscription may start when it is updated
#: (the InterUSS DSS's maximum notification latency); its end must still cover the intent.
DEPENDENT_START_SLACK: Final = timedelta(minutes=5)
#: What others see instead of an entity's OVN.
NO_OVN: Final = "Available from USS"
#: The subscription id of an intent without subscription: the wire needs a v4 UUID there
#: (the InterUSS DSS's placeholder, which its test suite expects).
NULL_SUBSCRIPTION_ID: Final = "00000000-0000-4000-8000-000000000000"
#: H3 resolution at which the DSS decides that two footprints may intersect (cells of
#: about 0.7 km^2, like the InterUSS DSS's S2 level-13 cells). A DSS reports every entity
#: that *may* intersect; the USSs, holding the details, decide exactly.
DSS_RESOLUTION: Final = 8
#: The manager named in the constraint references of native operations (the bridge):
#: the service itself, not the native party.
BRIDGE_MANAGER: Final = "deconfliction"
#: Where the service answers as a USS when ``--f3548-base-url`` does not say.
DEFAULT_BASE_URL: Final = "https://localhost"
#: Open time bounds of a search, in epoch seconds.
_FAR_PAST_S: Final = -1e12
_FAR_FUTURE_S: Final = 1e12


@dataclass(frozen=True, slots=True)
class Extent:
    """An F3548 Volume4D: altitudes are W84 metres; in a query any part but the outline
    may be absent (an open bound)."""

    footprint: Footprint
    lower_m: float | None
    upper_m: float | None
    start: datetime | None
    end: datetime | None

    @property
    def band(self) -> AltitudeBand:
        lo, hi = ALTITUDE_LIMITS_M
        return AltitudeBand(
            lo if self.lower_m is None else self.lower_m,
            hi if self.upper_m is None else self.upper_m,
            Datum.W84,
        )

    def volume(self) -> Volume4D:
        """As our Volume4D; both times must be present."""
        if self.start is None:
            raise InvalidTimeWindow("time_start", "is required")
        if self.end is None:
            raise InvalidTimeWindow("time_end", "is required")
        return Volume4D(self.footprint, self.band, TimeWindow(self.start, self.end))

    def search_box(self) -> SearchBox:
        lo, hi = self.band.msl_envelope()
        return SearchBox(
            index_cells(self.footprint),
            _FAR_PAST_S if self.start is None else self.start.timestamp(),
            _FAR_FUTURE_S if self.end is None else self.end.timestamp(),
            lo,
            hi,
        )

    def intersects(self, volume: Volume4D) -> bool:
        """Whether ``volume`` may share a point of space and time with this extent: times and
        altitudes overlap (exactly) and the footprints share a cell at :data:`DSS_RESOLUTION`."""
        w = volume.window
        if self.start is not None and w.end < self.start:
            return False
        if self.end is not None and w.start > self.end:
            return False
        band = self.band
        if volume.band.datum is band.datum:
            if volume.band.upper_m < band.lower_m or volume.band.lower_m > band.upper_m:
                return False
        else:
            lo, hi = band.msl_envelope()
            v_lo, v_hi = volume.band.msl_envelope()
            if v_hi < lo or v_lo > hi:
                return False
        return not dss_cells(self.footprint).isdisjoint(dss_cells(volume.footprint))

    @classmethod
    def of(cls, volume: Volume4D) -> Extent:
        v = volume
        return cls(v.footprint, v.band.lower_m, v.band.upper_m, v.window.start, v.window.end)


@lru_cache(maxsize=4096)
def index_cells(footprint: Footprint) -> frozenset[int]:
    """The cells of the store's index (:data:`~deconfliction.store.sql.RESOLUTION`) that
    touch ``footprint``."""
    return covering(footprint, 0.0, RESOLUTION)


@lru_cache(maxsize=4096)
def dss_cells(footprint: Footprint) -> frozenset[int]:
    """The cells at :data:`DSS_RESOLUTION` that touch ``footprint``."""
    return covering(footprint, 0.0, DSS_RESOLUTION)


def bridge_entity(c: BridgeConstraint, base_url: str) -> DssEntity:
    """A native operation's published constraint as a DSS constraint reference, managed by
    the service (:data:`BRIDGE_MANAGER`) at ``base_url``."""
    return DssEntity(
        id=c.id,
        kind=CONSTRAINT,
        party=BRIDGE_MANAGER,
        version=c.version,
        ovn=c.ovn,
        state="",
        uss_base_url=base_url,
        subscription_id=None,
        time_start=c.time_start,
        time_end=c.time_end,
    )


# -- requests --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """An implicit subscription asked for with an intent."""

    uss_base_url: str
    notify_for_constraints: bool = False


@dataclass(frozen=True, slots=True)
class IntentRequest:
    """``PutOperationalIntentReferenceParameters``, parsed."""

    extents: tuple[Extent, ...]
    state: str
    uss_base_url: str
    key: frozenset[str] = frozenset()
    subscription_id: str | None = None
    new_subscription: NewSubscription | None = None


@dataclass(frozen=True, slots=True)
class ConstraintRequest:
    """``PutConstraintReferenceParameters``, parsed."""

    extents: tuple[Extent, ...]
    uss_base_url: str


@dataclass(frozen=True, slots=True)
class SubscriptionRequest:
    """``PutSubscriptionParameters``, parsed; open times take defaults in the use-case."""

    extent: Extent
    uss_base_url: str
    notify_for_operational_intents: bool
    notify_for_constraints: bool


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reference:
    """An entity as one caller may see it: the OVN only when it is the caller's own."""

    entity: DssEntity
    availability: str
    show_ovn: bool


@dataclass(frozen=True, slots=True)
class Subscribers:
    """Subscriptions of one USS base URL to notify, with their new notification indices."""

    uss_base_url: str
    subscriptions: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class EntityChange:
    """The result of a put or delete: the reference and whom to notify."""

    reference: Reference
    subscribers: tuple[Subscribers, ...]
    created: bool = False


@dataclass(frozen=True, slots=True)
class SubscriptionView:
    subscription: DssSubscription
    dependents: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """A put subscription, with the entities it already covers (those it asked for)."""

    subscription: SubscriptionView
    operational_intents: tuple[Reference, ...] | None
    constraints: tuple[Reference, ...] | None


@dataclass(frozen=True, slots=True)
class ConstraintDetails:
    """A published native operation as its managing USS (the service) gives it: the
    reference, with its OVN, and the gridded volumes."""

    reference: Reference
    volumes: tuple[Volume4D, ...]


@dataclass(frozen=True, slots=True)
class Availability:
    uss: str
    availability: str
    version: str


# -- errors ----------------------------------------------------------------------------


class AirspaceConflict(Conflict):
    """The key lacks the OVNs of intersecting entities (409 ``AirspaceConflictResponse``)."""

    def __init__(
        self, message: str, missing: list[Reference], missing_constraints: list[Reference] | None = None
    ) -> None:
        self.missing = missing
        self.missing_constraints = missing_constraints or []
        super().__init__(message)


class UssDown(Conflict):
    """The USS is marked Down (by availability arbitration) and may not put an intent in
    Accepted or Activated, nor delete one (HTTP 412 in F3548)."""
