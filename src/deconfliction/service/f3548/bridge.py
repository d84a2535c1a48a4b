"""The bridge between native operations and F3548 USSs.

A native party's operation, once accepted or activated, is published to USSs as a
constraint reference at the disclosure grid: each volume becomes the unions of the grid's
H3 cells it touches (every vertex a cell's vertex), its altitudes whole bands above the
WGS84 ellipsoid, its window whole slots; no purpose, no callsign, no operation id (an
opaque id). Its OVN changes with every change of the operation; it is withdrawn when the
operation ends or is cancelled. The service is the managing USS of these constraints:
it gives their details (:meth:`Bridge.details`) and queues, in the transaction of the
change, a constraint notification for every subscription the DSS names
(:meth:`Bridge.claim` and the worker in ``api/f3548_bridge.py`` send them).

The grid is the coarsest, in each of its three parts, of the default grid and the grids
of the native party's pair policies with USS parties: one reference is shown to every
USS, so it may tell none of them more than its own pair allows.

USSs belong to parties through links (:meth:`Bridge.link`): a linked USS acts, files and
is checked for conflicts as its party.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Final

from deconfliction.engine.operation import Operation, OperationState
from deconfliction.errors import InvalidInput, NotFound
from deconfliction.geo.altitude import ALTITUDE_LIMITS_M, AltitudeBand, Datum
from deconfliction.geo.footprint import Polygon, Position
from deconfliction.geo.grid import DEFAULT_GRID, DisclosureGrid, cell_outlines
from deconfliction.geo.timewindow import TimeWindow
from deconfliction.geo.volume import Volume4D
from deconfliction.service.f3548.access import CONSTRAINT_PROCESSING, F3548Principal
from deconfliction.service.f3548.common import F3548Base, new_ovn, volumes_sha256
from deconfliction.service.f3548.model import CONSTRAINT, ConstraintDetails, bridge_entity
from deconfliction.store.base import PartyKind, Transaction
from deconfliction.store.events import AuditRepo
from deconfliction.store.f3548 import DssRepo
from deconfliction.store.f3548_bridge import BridgeConstraint, BridgeRepo, PendingNotification
from deconfliction.store.policy import PoliciesRepo

#: Operation states in which a native operation is published.
PUBLISHED_STATES: Final = frozenset({OperationState.ACCEPTED, OperationState.ACTIVATED})
#: Longest USS client id a link takes.
MAX_CLIENT_ID: Final = 255
#: Retries of a notification: the delay doubles from 1 s to at most 5 minutes; after
#: :data:`MAX_ATTEMPTS` attempts (about a day) it is dropped.
FIRST_RETRY_S: Final = 1.0
MAX_RETRY_S: Final = 300.0
MAX_ATTEMPTS: Final = 300
#: How long a worker holds a notification it is sending before another may take it.
LEASE_S: Final = 60.0


def bridge_grid(tx: Transaction, party: str) -> DisclosureGrid:
    """The grid at which ``party``'s operations are published: the coarsest, part by part,
    of the default grid and of the grids of ``party``'s pairs with USS parties (kind
    ``uas`` or linked to a USS). A pair on the exact rule counts as the default grid."""
    linked = {p for _, p in tx.repo(BridgeRepo).links()}
    grids = [DEFAULT_GRID]
    for (a, b), policy in tx.repo(PoliciesRepo).all().items():
        if party not in (a, b) or policy.grid is None:
            continue
        other = b if a == party else a
        if other in linked or tx.get_party(other).kind is PartyKind.UAS:
            grids.append(policy.grid)
    return DisclosureGrid(
        min(g.resolution for g in grids), max(g.band_m for g in grids), max(g.slot_s for g in grids)
    )


def gridded(operation: Operation, grid: DisclosureGrid) -> tuple[Volume4D, ...]:
    """``operation``'s volumes as F3548 sees them: per volume, one volume per connected
    union of the cells it touches, with whole W84 bands and whole slots."""
    out: list[Volume4D] = []
    lowest, highest = ALTITUDE_LIMITS_M
    for v in operation.volumes:
        lo_m, hi_m = grid.band_bounds_m(*grid.bands(*v.band.w84_envelope()))
        t0, t1 = grid.slot_bounds_s(*grid.slots(v.window.start_s, v.window.end_s))
        band = AltitudeBand(max(lo_m, lowest), min(hi_m, highest), Datum.W84)
        window = TimeWindow(datetime.fromtimestamp(t0, UTC), datetime.fromtimestamp(t1, UTC))
        for ring in cell_outlines(grid.cells(v.footprint, 0.0)):
            outline = Polygon(tuple(Position(lat, lon) for lat, lon in ring))
            out.append(Volume4D(outline, band, window))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A notification to send now and what it says: the constraint's details, or None when
    the constraint is gone (a deletion)."""

    notification: PendingNotification
    details: ConstraintDetails | None


def retry_delay_s(attempts: int) -> float:
    """The wait before the next attempt, after ``attempts`` failed ones."""
    return min(MAX_RETRY_S, FIRST_RETRY_S * 2.0 ** min(attempts, 20))


class Bridge(F3548Base):
    """Native operations as F3548 constraints, their notifications, and USS links."""

    # -- publishing ---------------------------------------------------------------------

    def sync(self, tx: Transaction, operation: Operation) -> None:
        """Publish, republish (new OVN) or withdraw ``operation``'s constraint after a native
        change, in the change's transaction, and queue the notifications."""
        dss = tx.repo(DssRepo)
        carried = dss.get_entity(operation.id)
        if carried is not None and carried.party == operation.party:
            return  # a USS's own intent or constraint: already an F3548 entity
        repo = tx.repo(BridgeRepo)
        old = repo.of_operation(operation.party, operation.id)
        if operation.state in PUBLISHED_STATES:
            volumes = gridded(operation, bridge_grid(tx, operation.party))
            constraint = BridgeConstraint(
                old.id if old is not None else str(uuid.uuid4()),
                operation.party,
                operation.id,
                old.version + 1 if old is not None else 1,
                new_ovn(),
                volumes,
            )
            repo.put(constraint)
            touched = [*volumes, *(old.volumes if old is not None else ())]
            cause = "published"
        elif old is not None:
            repo.delete(old.id)
            constraint, touched, cause = old, list(old.volumes), "withdrawn"
        else:
            return
        now = self.clock.now()
        body = {
            "constraint_id": constraint.id,
            "version": constraint.version,
            "operation_id": operation.id,
            "operation_version": operation.version,
            "volumes_sha256": volumes_sha256(constraint.volumes),
        }
        tx.repo(AuditRepo).append(operation.party, f"f3548.bridge.{cause}", operation.party, body, now)
        for subscribers in self._notify(dss, CONSTRAINT, touched):
            repo.enqueue(subscribers.uss_base_url, constraint.id, subscribers.subscriptions, now.timestamp())

    def details(self, who: F3548Principal, constraint_id: str) -> ConstraintDetails:
        """``GET /uss/v1/constraints/{id}``: a published constraint's reference and volumes."""
        who.require_any(CONSTRAINT_PROCESSING)
        with self.store.transaction() as tx:
            found = tx.repo(BridgeRepo).get(constraint_id)
            if found is None:
                raise NotFound(f"no constraint {constraint_id}")
            return self._details(tx, found)

    def _details(self, tx: Transaction, c: BridgeConstraint) -> ConstraintDetails:
        """The reference as its manager sees it (with the OVN), and the volumes."""
        entity = bridge_entity(c, self.base_url)
        return ConstraintDetails(self._reference(tx.repo(DssRepo), entity, entity.party), c.volumes)

    # -- notifications ------------------------------------------------------------------

    def claim(self, limit: int = 50) -> list[Delivery]:
        """Notifications due now, leased to the caller, with what each must say."""
        with self.store.transaction() as tx:
            repo = tx.repo(BridgeRepo)
            out = []
            for n in repo.claim_due(self.clock.now().timestamp(), LEASE_S, limit):
                found = repo.get(n.constraint_id)
                out.append(Delivery(n, self._details(tx, found) if found is not None else None))
            return out

    def delivered(self, notification: PendingNotification) -> None:
        with self.store.transaction() as tx:
            tx.repo(BridgeRepo).delivered(notification.id)

    def drop(self, notification: PendingNotification) -> None:
        """Give up on a notification the service will not send (its target is refused)."""
        self.delivered(notification)

    def failed(self, notification: PendingNotification, error: str) -> None:
        """Schedule the next attempt, or drop the notification after :data:`MAX_ATTEMPTS`."""
        with self.store.transaction() as tx:
            repo = tx.repo(BridgeRepo)
            if notification.attempts + 1 >= MAX_ATTEMPTS:
                repo.delivered(notification.id)
                return
            due = self.clock.now().timestamp() + retry_delay_s(notification.attempts)
            repo.failed(notification.id, due, error)

    def pending(self) -> list[tuple[str, str, int, str | None]]:
        with self.store.transaction() as tx:
            return tx.repo(BridgeRepo).pending()

    # -- USS links ----------------------------------------------------------------------

    def link(self, client_id: str, party: str, actor: str = "admin") -> None:
        """Make the USS whose tokens name ``client_id`` act as ``party``."""
        if not isinstance(client_id, str) or not client_id or len(client_id) > MAX_CLIENT_ID:
            raise InvalidInput("client_id", f"must be 1 to {MAX_CLIENT_ID} characters")
        with self.store.transaction() as tx:
            tx.get_party(party)
            tx.repo(BridgeRepo).link(client_id, party)
            tx.repo(AuditRepo).append(
                party, "f3548.uss.linked", actor, {"client_id": client_id, "party": party}, self.clock.now()
            )

    def unlink(self, client_id: str, actor: str = "admin") -> None:
        with self.store.transaction() as tx:
            repo = tx.repo(BridgeRepo)
            party = repo.party_of(client_id)
            if party is None or not repo.unlink(client_id):
                raise NotFound(f"USS {client_id!r} is not linked to a party")
            tx.repo(AuditRepo).append(
                party,
                "f3548.uss.unlinked",
                "admin",
                {"client_id": client_id, "party": party},
                self.clock.now(),
            )

    def links(self) -> list[tuple[str, str]]:
        with self.store.transaction() as tx:
            return tx.repo(BridgeRepo).links()

    def resolve(self, who: F3548Principal) -> F3548Principal:
        """The caller as the party its USS is linked to (unchanged when not linked)."""
        with self.store.transaction() as tx:
            party = tx.repo(BridgeRepo).party_of(who.manager)
        return replace(who, manager=party) if party is not None else who
