"""Administration: parties, duty desks, credentials and pair policies.

Used by ``deconfliction admin`` and the admin routes alike. Every change that concerns
a party is appended to that party's audit chain (a pair policy to both chains, with the
same body) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from deconfliction.engine.minima import Minima, MinimaPolicy, pair_key
from deconfliction.engine.policy import PairMode, PairPolicy, Visibility, parse_mode, parse_visibility
from deconfliction.errors import InvalidInput
from deconfliction.geo.grid import DisclosureGrid
from deconfliction.service.clock import Clock
from deconfliction.service.credentials import IssuedCredential, create_credential, create_operator_credential
from deconfliction.service.limits import limits_to_edge
from deconfliction.service.notices import grid_view
from deconfliction.service.operations import OperationService
from deconfliction.store.auth import (
    OPERATOR,
    Credential,
    CredentialsRepo,
    Desk,
    DesksRepo,
    Scope,
    scopes_text,
)
from deconfliction.store.base import Party, PartyKind, Store, Transaction
from deconfliction.store.events import AuditRepo
from deconfliction.store.limits import LimitsRepo, Standing
from deconfliction.store.policy import PoliciesRepo

#: The desk every party gets when it is added, so that messages always have somewhere to go.
DEFAULT_DESK = "duty"


@dataclass(frozen=True, slots=True)
class PairTerms:
    """Everything agreed between two parties: minima, lead time, visibility, disclosure grid."""

    minima: Minima
    policy: PairPolicy

    def to_dict(self) -> dict[str, Any]:
        p = self.policy
        return {
            "parties": [p.party_a, p.party_b],
            "minima": {
                "horizontal_m": self.minima.horizontal_m,
                "vertical_m": self.minima.vertical_m,
                "time_s": self.minima.time_s,
            },
            "min_lead_s": p.min_lead_s,
            "sees": {p.party_a: p.a_sees.value, p.party_b: p.b_sees.value},
            "disclosure": grid_view(p.grid),
            "mode": p.mode.value,
            "private_budget": p.private_budget,
        }


class AdminService:
    """Administrative use-cases; ``actor`` names who did it in the audit log."""

    def __init__(self, store: Store, clock: Clock, operations: OperationService | None = None) -> None:
        self.store = store
        self.clock = clock
        self.operations = operations or OperationService(store)

    # parties and desks --------------------------------------------------------------

    def add_party(
        self, party_id: str, name: str, kind: str, language: str = "en", actor: str = "admin"
    ) -> tuple[Party, Desk]:
        """A new party and its first duty desk (``duty``, in ``language``)."""
        try:
            party = Party(party_id, name, PartyKind(kind))
        except ValueError as exc:
            if isinstance(exc, InvalidInput):
                raise
            kinds = ", ".join(k.value for k in PartyKind)
            raise InvalidInput("kind", f"unknown kind {kind!r}; one of {kinds}") from None
        desk = Desk(party_id, DEFAULT_DESK, language)
        with self.store.transaction() as tx:
            tx.add_party(party)
            tx.repo(DesksRepo).add(desk)
            tx.repo(AuditRepo).append(
                party_id,
                "party.added",
                actor,
                {"party": party_id, "name": name, "kind": party.kind.value, "desk": DEFAULT_DESK},
                self.clock.now(),
            )
        return party, desk

    def parties(self) -> list[Party]:
        with self.store.transaction() as tx:
            return tx.list_parties()

    def add_desk(
        self, party: str, desk_id: str, language: str, escalation: tuple[str, ...] = (), actor: str = "admin"
    ) -> Desk:
        desk = Desk(party, desk_id, language, escalation)
        with self.store.transaction() as tx:
            tx.get_party(party)
            tx.repo(DesksRepo).add(desk)
            tx.repo(AuditRepo).append(
                party,
                "desk.added",
                actor,
                {"desk": desk_id, "language": language, "escalation": list(escalation)},
                self.clock.now(),
            )
        return desk

    def desks(self, party: str) -> list[Desk]:
        with self.store.transaction() as tx:
            tx.get_party(party)
            return tx.repo(DesksRepo).list(party)

    # plausibility limits ------------------------------------------------------------

    def limits(self, party: str) -> Standing:
        """``party``'s plausibility limits and the space-time its live operations hold."""
        with self.store.transaction() as tx:
            return tx.repo(LimitsRepo).standing(party, lock=False)

    def set_limits(self, party: str, values: dict[str, float | int | None], actor: str = "admin") -> Standing:
        """Set the limits named in ``values`` (SI names of :class:`~deconfliction.engine.
        limits.Limits`; None puts one back to the default) and record them in the party's
        chain. Operations already filed stay as they are; the next filing meets the new ones."""
        with self.store.transaction() as tx:
            tx.get_party(party)
            standing = tx.repo(LimitsRepo).set(party, values)
            body = {"limits": limits_to_edge(standing.limits), "set": sorted(values)}
            tx.repo(AuditRepo).append(party, "party.limits_set", actor, body, self.clock.now())
        return standing

    # credentials --------------------------------------------------------------------

    def create_credential(
        self, party: str, scopes: frozenset[Scope], actor: str = "admin"
    ) -> IssuedCredential:
        """A new credential; its secret is in the result and nowhere else."""
        with self.store.transaction() as tx:
            issued = create_credential(tx, party, scopes, self.clock)
            tx.repo(AuditRepo).append(
                party,
                "credential.created",
                actor,
                {"client_id": issued.credential.client_id, "scopes": scopes_text(scopes)},
                self.clock.now(),
            )
        return issued

    def create_operator_credential(self) -> IssuedCredential:
        """A credential of the operator, belonging to no party (admin scope only)."""
        with self.store.transaction() as tx:
            return create_operator_credential(tx, self.clock)

    def revoke_credential(self, client_id: str, actor: str = "admin") -> Credential:
        with self.store.transaction() as tx:
            repo = tx.repo(CredentialsRepo)
            was_active = repo.get(client_id).active
            credential = repo.revoke(client_id, self.clock.now())
            if was_active and credential.party != OPERATOR:  # an operator has no chain
                tx.repo(AuditRepo).append(
                    credential.party, "credential.revoked", actor, {"client_id": client_id}, self.clock.now()
                )
        return credential

    def credentials(self, party: str | None = None) -> list[Credential]:
        with self.store.transaction() as tx:
            if party is not None:
                tx.get_party(party)
            return tx.repo(CredentialsRepo).list(party)

    # pair policies ------------------------------------------------------------------

    def set_policy(
        self,
        party_a: str,
        party_b: str,
        minima: Minima | None = None,
        min_lead_s: float | None = None,
        a_sees: Visibility | str | None = None,
        b_sees: Visibility | str | None = None,
        actor: str = "admin",
        grid: DisclosureGrid | Literal["keep"] | None = "keep",
        mode: PairMode | str | None = None,
        private_budget: int | None = None,
    ) -> PairTerms:
        """Change what is given (the rest is kept) and record it in both parties' chains.

        ``grid`` is the pair's disclosure grid, or None for the exact rule. Conflicts
        already stored keep the rule they were found under until either side changes them."""
        if party_a == party_b:
            raise InvalidInput("party_b", "a pair policy is between two different parties")
        with self.store.transaction() as tx:
            tx.get_party(party_a)
            tx.get_party(party_b)
            current = self._terms(tx, party_a, party_b)
            old = current.policy
            sees = {old.party_a: old.a_sees, old.party_b: old.b_sees}
            if a_sees is not None:
                sees[party_a] = parse_visibility(a_sees, "a_sees")
            if b_sees is not None:
                sees[party_b] = parse_visibility(b_sees, "b_sees")
            a, b = pair_key(party_a, party_b)
            policy = PairPolicy(
                a,
                b,
                old.min_lead_s if min_lead_s is None else min_lead_s,
                sees[a],
                sees[b],
                old.grid if grid == "keep" else grid,
                old.mode if mode is None else parse_mode(mode),
                old.private_budget if private_budget is None else private_budget,
            )
            terms = PairTerms(minima or current.minima, policy)
            tx.set_pair_minima(a, b, terms.minima)
            tx.repo(PoliciesRepo).set(policy)
            body = {"policy": terms.to_dict()}
            now = self.clock.now()
            for party in (a, b):
                tx.repo(AuditRepo).append(party, "policy.set", actor, body, now)
        return terms

    def terms(self, party_a: str, party_b: str) -> PairTerms:
        with self.store.transaction() as tx:
            tx.get_party(party_a)
            tx.get_party(party_b)
            return self._terms(tx, party_a, party_b)

    def terms_of(self, party: str) -> list[PairTerms]:
        """The terms between ``party`` and every other party."""
        with self.store.transaction() as tx:
            tx.get_party(party)
            others = [p.id for p in tx.list_parties() if p.id != party]
            return [self._terms(tx, party, other) for other in others]

    def _terms(self, tx: Transaction, party_a: str, party_b: str) -> PairTerms:
        minima = MinimaPolicy(self.operations.default_minima, tx.pair_minima()).for_pair(party_a, party_b)
        return PairTerms(minima, tx.repo(PoliciesRepo).get(party_a, party_b))
