"""Need-to-know conflict notices: what each party is told about a conflict, and nothing more.

A party sees a conflict from its own side: its own operation (id and version), the
other *party*, the reference both can cite, and — as far as the pair's visibility
allows — the overlap's UTC window, altitude band and region. It never sees the other
operation's id, footprint, volumes, purpose, priority or affiliation: the overlap is
the intersection of both sides' buffered volumes, so it says nothing the party could
not already work out from its own plan and the minima.

Notices go to both parties' outboxes and audit chains in the transaction of the change
that caused them; the audit body is the same in both chains (so the two logs can be
matched entry for entry) and holds only what both sides may know: the reference and
the two parties.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from deconfliction.engine.minima import pair_key
from deconfliction.engine.policy import PairPolicy, Visibility
from deconfliction.engine.strategic import StrategicConflict, conflict_reference
from deconfliction.geo.grid import DisclosureGrid, cell_token
from deconfliction.geo.timewindow import format_utc
from deconfliction.service.disclosure import Ledger
from deconfliction.store.base import Transaction
from deconfliction.store.events import AuditRepo, EventsRepo
from deconfliction.store.policy import AcknowledgementsRepo, PoliciesRepo
from deconfliction.units import FOOT_M

#: Regions are rounded to 7 decimals of a degree (about 1 cm): enough for any minimum,
#: and it keeps floating-point noise of the projection out of what is sent.
_DECIMALS = 7

#: GeoJSON of overlap regions already rendered, by ``id`` of the region (with the region,
#: which keeps the id from being reused): the views of one change show each region to
#: both sides and in the change's result, and rendering one costs more than the rest of
#: a view.
RegionMemo = dict[int, tuple[BaseGeometry, dict[str, Any]]]


def region_geojson(region: BaseGeometry, memo: RegionMemo | None = None) -> dict[str, Any]:
    """``region`` (lon/lat) as a GeoJSON geometry object, coordinates rounded."""
    found = memo.get(id(region)) if memo is not None else None
    if found is not None:
        return found[1]
    rendered = _geojson(region)
    if memo is not None:
        memo[id(region)] = (region, rendered)
    return rendered


def _coordinates(part: BaseGeometry) -> Any:
    return np.round(shapely.get_coordinates(part), _DECIMALS).tolist()


def _geojson(geometry: BaseGeometry) -> dict[str, Any]:
    kind = geometry.geom_type
    if kind == "GeometryCollection":
        return {"type": kind, "geometries": [_geojson(g) for g in shapely.get_parts(geometry)]}
    if kind.startswith("Multi"):
        parts = shapely.get_parts(geometry)
        return {"type": kind, "coordinates": [_geojson(part)["coordinates"] for part in parts]}
    if kind == "Polygon":
        return {"type": kind, "coordinates": [_coordinates(ring) for ring in shapely.get_rings(geometry)]}
    coordinates = _coordinates(geometry)
    return {"type": kind, "coordinates": coordinates[0] if kind == "Point" else coordinates}


def _altitude(lower_m: float, upper_m: float, datum: str) -> dict[str, Any]:
    return {
        "lower_m": round(lower_m, 1),
        "upper_m": round(upper_m, 1),
        "lower_ft": round(lower_m / FOOT_M),
        "upper_ft": round(upper_m / FOOT_M),
        "datum": datum,
    }


def grid_view(grid: DisclosureGrid | None) -> dict[str, Any]:
    """The pair's rule as shown to a party: the grid its conflicts are decided and shown
    on, or the exact rule."""
    if grid is None:
        return {"rule": "exact"}
    return {
        "rule": "grid",
        "resolution": grid.resolution,
        "band_ft": round(grid.band_m / FOOT_M, 3),
        "slot_s": grid.slot_s,
    }


def conflict_view(
    conflict: StrategicConflict,
    viewer: str,
    visibility: Visibility,
    acknowledged: bool,
    regions: RegionMemo | None = None,
    grid: DisclosureGrid | None = None,
    withheld: bool = False,
) -> dict[str, Any]:
    """The conflict as ``viewer`` may see it (``conflict`` may face either side), decided
    and shown on ``grid`` (None: the exact rule). ``withheld``: the viewer's disclosure
    budget about the other party is spent, so the conflict is announced with its window
    only (``service.disclosure``)."""
    seen = conflict.seen_by(viewer)
    view: dict[str, Any] = {
        "reference": conflict_reference(seen),
        "operation_id": seen.a.id,
        "operation_version": seen.a.version,
        "other_party": seen.b.party,
        "visibility": visibility.value,
        "acknowledged": acknowledged,
        "disclosure": grid_view(grid),
    }
    if withheld:
        view["withheld"] = "budget"
        view["window"] = {"start": format_utc(seen.start), "end": format_utc(seen.end)}
    elif visibility.shows_window():
        view["window"] = {"start": format_utc(seen.start), "end": format_utc(seen.end)}
        overlaps = []
        for o in seen.overlaps:
            item: dict[str, Any] = {
                # own volume index: the viewer's own plan; the other side's is not shown
                "volume": o.volume_a,
                "altitude": _altitude(o.lower_m, o.upper_m, o.datum.value),
                "window": {"start": format_utc(o.start), "end": format_utc(o.end)},
            }
            if visibility.shows_region() and o.region is not None:
                item["region"] = region_geojson(o.region, regions)
                if o.cells is not None:
                    item["cells"] = [cell_token(c) for c in sorted(o.cells)]
            overlaps.append(item)
        view["overlaps"] = overlaps
    return view


def acknowledged(tx: Transaction, viewer: str, conflict: StrategicConflict) -> bool:
    """Whether ``viewer`` has acknowledged the other side's version in ``conflict``."""
    other = conflict.seen_by(viewer).b
    return tx.repo(AcknowledgementsRepo).has(viewer, other.party, other.id, other.version)


class ChangeViews:
    """What the views of one change share: each region rendered once, each pair's policy
    and each acknowledgement read once, however many views (both sides' notices, the
    change's own result) show them."""

    def __init__(self, tx: Transaction, at: datetime) -> None:
        self.tx = tx
        self.ledger = Ledger(tx, at)
        self.regions: RegionMemo = {}
        self._policies: dict[tuple[str, str], PairPolicy] = {}
        self._acknowledged: dict[tuple[str, str, str, int], bool] = {}

    def policy(self, viewer: str, other: str) -> PairPolicy:
        """The pair's policy."""
        key = pair_key(viewer, other)
        if key not in self._policies:
            self._policies[key] = self.tx.repo(PoliciesRepo).get(*key)
        return self._policies[key]

    def sees(self, viewer: str, other: str) -> Visibility:
        """What ``viewer`` may see of ``other``'s operations."""
        return self.policy(viewer, other).sees(viewer)

    def acknowledged(self, viewer: str, conflict: StrategicConflict) -> bool:
        """:func:`acknowledged`, remembered."""
        other = conflict.seen_by(viewer).b
        key = (viewer, other.party, other.id, other.version)
        if key not in self._acknowledged:
            self._acknowledged[key] = acknowledged(self.tx, viewer, conflict)
        return self._acknowledged[key]

    def views(self, viewer: str, conflicts: Sequence[StrategicConflict]) -> list[dict[str, Any]]:
        """Every one of ``conflicts`` as ``viewer`` may see it."""
        return [self.view(conflict, viewer) for conflict in conflicts]

    def view(self, conflict: StrategicConflict, viewer: str) -> dict[str, Any]:
        """:func:`conflict_view` for ``viewer``, with what it needs looked up."""
        other = conflict.seen_by(viewer).b.party
        policy = self.policy(viewer, other)
        shown = True
        if policy.grid is not None and any(o.cells is not None for o in conflict.overlaps):
            shown = self.ledger.admit(viewer, conflict, policy.grid).shown
        return conflict_view(
            conflict,
            viewer,
            policy.sees(viewer),
            self.acknowledged(viewer, conflict),
            self.regions,
            policy.grid,
            withheld=not shown,
        )


def _by_other(conflicts: Sequence[StrategicConflict], party: str) -> dict[tuple[str, str], StrategicConflict]:
    return {(c.seen_by(party).b.party, c.seen_by(party).b.id): c.seen_by(party) for c in conflicts}


def announce_changes(
    tx: Transaction,
    party: str,
    before: Sequence[StrategicConflict],
    after: Sequence[StrategicConflict],
    cause: str,
    at: datetime,
    notice: Mapping[str, Any] | None = None,
    views: ChangeViews | None = None,
) -> None:
    """Tell both sides of every conflict that appeared, changed or went away when
    ``party`` changed one of its operations (``before`` / ``after`` seen by ``party``).

    Kinds: ``conflict.notice`` (new), ``conflict.changed`` (a version changed, so the
    reference did: an earlier acknowledgement no longer covers it), ``conflict.cleared``.
    ``notice`` (the lead time the change gave) is passed on to the other side."""
    old, new = _by_other(before, party), _by_other(after, party)
    views = views or ChangeViews(tx, at)
    events: list[tuple[str, str, dict[str, Any]]] = []
    entries: list[tuple[str, str, str, dict[str, Any]]] = []
    for key in sorted(set(old) | set(new)):
        previous, current = old.get(key), new.get(key)
        other = key[0]
        if current is None:
            assert previous is not None
            kind, reference = "conflict.cleared", conflict_reference(previous)
        else:
            reference = conflict_reference(current)
            if previous is None:
                kind = "conflict.notice"
            elif conflict_reference(previous) == reference:
                continue
            else:
                kind = "conflict.changed"
        audit_body: dict[str, Any] = {"reference": reference, "parties": sorted([party, other])}
        if previous is not None and kind == "conflict.changed":
            audit_body["previous_reference"] = conflict_reference(previous)
        for viewer in (party, other):
            payload: dict[str, Any] = {"cause": cause, "changed_by": party, **audit_body}
            if current is not None:
                payload["conflict"] = views.view(current, viewer)
            else:
                payload["other_party"] = other if viewer == party else party
            if notice is not None and viewer == other:
                payload["notice"] = dict(notice)
            events.append((viewer, kind, payload))
            entries.append((viewer, kind, party, audit_body))
    if events:
        tx.repo(EventsRepo).append_many(events, at)
    if entries:
        tx.repo(AuditRepo).append_many(entries, at)
