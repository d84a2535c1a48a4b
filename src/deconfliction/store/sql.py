"""The SQL store shared by every backend, with a tiny dialect adapter.

Design decision 1: the same SQL runs on SQLite, PostgreSQL and CockroachDB. Statements
are written once with ``?`` placeholders; a :class:`Dialect` says how a backend spells
placeholders, an auto-numbered key, and a list of integers passed as one parameter
(a JSON array on SQLite, a ``BIGINT[]`` on PostgreSQL) so that every statement keeps
one text however many cells it searches, and stays prepared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final, Protocol, TypeVar

import numpy as np
import orjson
import shapely

from deconfliction.engine.limits import operation_claim_m2s
from deconfliction.engine.minima import Minima, pair_key
from deconfliction.engine.operation import LIVE_STATES, Operation, OperationState
from deconfliction.engine.strategic import Candidate, OperationRef, Overlap, StrategicConflict
from deconfliction.errors import AlreadyExists, InvalidInput, NotFound, StaleVersion, StoreError
from deconfliction.geo.altitude import AltitudeBand, Datum
from deconfliction.geo.cells import DEFAULT_RESOLUTION, candidate_cells, search_and_index_cells
from deconfliction.geo.codec import volume_from_dict, volume_to_dict
from deconfliction.geo.footprint import (
    Footprint,
    outline_worth_storing,
    remember_cap,
    remember_outline,
    unchecked,
)
from deconfliction.geo.timewindow import MAX_WINDOW, format_utc, parse_utc
from deconfliction.geo.volume import Volume4D
from deconfliction.store.base import Party, PartyKind

#: H3 resolution of the stored cell index. Changing it invalidates every stored index
#: row, so it would come with a migration that re-indexes.
RESOLUTION: Final = DEFAULT_RESOLUTION

_LIVE: Final = tuple(sorted(s.value for s in LIVE_STATES))

#: Duration classes of the cell index (migration 0007): class k holds volumes lasting at
#: most ``SPAN_LIMITS_S[k]``, the last class every longer one (up to MAX_WINDOW).
SPAN_LIMITS_S: Final = (6 * 3600.0, 2 * 86400.0, 30 * 86400.0, MAX_WINDOW.total_seconds())


def span_class(duration_s: float) -> int:
    """The duration class of a volume lasting ``duration_s`` seconds."""
    for k, limit in enumerate(SPAN_LIMITS_S[:-1]):
        if duration_s <= limit:
            return k
    return len(SPAN_LIMITS_S) - 1


class Cursor(Protocol):
    """What we use of a DB-API cursor (sqlite3 and psycopg both fit)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    """What we use of a DB-API connection (sqlite3 and psycopg both fit)."""

    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...

    def cursor(self) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    """How one backend differs from the shared SQL."""

    name: str
    #: placeholder for one parameter
    param: str
    #: column definition of an auto-numbered 64-bit primary key
    pk: str
    #: table option that clusters a table on its primary key, where that is not the default
    without_rowid: str
    #: ``{ints}``: a placeholder holding a list of integers, as a set: ``x IN <this>``
    int_list: str
    #: ``{in_ints}``: a whole predicate on such a placeholder: ``x <this>``. PostgreSQL
    #: spells it ``= ANY(array)``, which it turns into index lookups; it may plan
    #: ``IN (SELECT unnest(...))`` as a join over the whole index instead.
    in_int_list: str
    #: how that list is passed as a parameter
    int_list_param: Callable[[Sequence[int]], object]
    #: run first in the migration transaction so that concurrent openers take turns
    migration_lock: str | None
    #: exceptions of the driver that mean a constraint refused the write
    integrity_error: type[Exception]
    #: the candidate search names each duration class's end range in an OR of predicates
    #: (``_CANDIDATE_KEYS_BY_SPAN``) rather than joining a list of them: PostgreSQL turns
    #: the OR into one index range per class, but cannot push a joined list into the
    #: index scan (0.3 ms against 0.74 a search at 100,000 stored); SQLite's planner reads
    #: each (cell, class) range either way and is faster with the join (0.09 against 0.26).
    spans_as_or: bool = False
    #: a statement that tells listeners, at commit, that parties' outboxes grew (one
    #: parameter: the list of parties); None where there is no such channel (SQLite)
    notify_events: str | None = None
    _cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def sql(self, text: str) -> str:
        """``text`` in this dialect (memoised: statements are module constants)."""
        done = self._cache.get(text)
        if done is None:
            done = text.replace("{in_ints}", self.in_int_list).replace("{ints}", self.int_list)
            if self.param != "?":
                done = done.replace("?", self.param)
            self._cache[text] = done
        return done

    def ddl(self, text: str) -> str:
        """A migration script in this dialect."""
        return text.replace("{pk}", self.pk).replace("{without_rowid}", self.without_rowid)


# --- migrations ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    script: str

    def statements(self) -> list[str]:
        """The script's statements (our scripts keep ``;`` for statement ends only)."""
        lines = [line for line in self.script.splitlines() if not line.lstrip().startswith("--")]
        return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def migrations() -> list[Migration]:
    """Every packaged migration, by number (``NNNN_name.sql``)."""
    found = []
    for entry in resources.files("deconfliction.store").joinpath("migrations").iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        number, _, rest = name.partition("_")
        if not number.isdigit():
            raise StoreError(f"migration file {name!r} does not start with its number")
        found.append(Migration(int(number), rest.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if len({m.version for m in found}) != len(found):
        raise StoreError("two migration files share a number")
    return found


def migrate(conn: Connection, dialect: Dialect) -> list[int]:
    """Apply the migrations not yet recorded in ``schema_migrations``; the caller holds a
    transaction. Returns the versions applied (none when the schema is current)."""
    if dialect.migration_lock:
        conn.execute(dialect.migration_lock)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    done = []
    for migration in migrations():
        if migration.version in applied:
            continue
        for statement in migration.statements():
            conn.execute(dialect.ddl(statement))
        conn.execute(
            dialect.sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
            (migration.version, migration.name, format_utc(datetime.now(UTC))),
        )
        done.append(migration.version)
    return done


# --- row codecs -----------------------------------------------------------------------

_OP_COLUMNS: Final = "o.op_key, o.party, o.id, o.version, o.state, o.priority, o.affiliation, o.volumes"


def _volumes_json(operation: Operation) -> str:
    # Each volume keeps derived values of its footprint that every later filing checking
    # it would otherwise compute again: its bounding cap ("cap": lat, lon, radius), which
    # the pair tests need, and the outline's coordinates where they cost geodesics
    # ("outline": latitudes, longitudes), which the exact check needs.
    return _json([_volume_row(v) for v in operation.volumes])


def _op_values(op: Operation, claim_m2s: float) -> tuple[object, ...]:
    """The columns an insert and an update write alike, in their order."""
    return (op.version, op.state.value, op.priority, op.affiliation, _volumes_json(op), claim_m2s)


def _volume_row(volume: Volume4D) -> dict[str, Any]:
    row = {**volume_to_dict(volume), "cap": volume.footprint.cap}
    outline = outline_worth_storing(volume.footprint)
    if outline is not None:
        row["outline"] = [outline[0].tolist(), outline[1].tolist()]
    return row


def _json(value: object) -> str:
    """Compact JSON of the store's own rows (volumes, overlaps): orjson writes it ten
    times faster than the standard library, which a filing's dozen rows notice. Every
    number in them was validated finite (orjson would write NaN as null)."""
    return orjson.dumps(value).decode()


def _volumes(text: str) -> tuple[Volume4D, ...]:
    """Decoded volumes of a stored JSON text, which this package wrote from validated values,
    so the footprint checks are not run again.

    Not memoised: a cache of decoded volumes (with the shapes derived from them) holds
    some twenty objects per operation for the garbage collector, whose full passes then
    grew to 0.4 s in a long-running service, and cost more CPU than the decoding it saved
    (docs/decisions/0012)."""
    return tuple(_stored_volume(v) for v in orjson.loads(text))


def _stored_volume(data: dict[str, Any]) -> Volume4D:
    volume = volume_from_dict(data, stored=True)
    cap = data.get("cap")  # rows written before caps were stored have none
    if cap is not None:
        lat, lon, radius = cap
        remember_cap(volume.footprint, (float(lat), float(lon), float(radius)))
    outline = data.get("outline")  # nor do rows written before outlines were stored
    if outline is not None:
        remember_outline(
            volume.footprint, np.array(outline[0], dtype=np.float64), np.array(outline[1], dtype=np.float64)
        )
    return volume


def _operation(row: Sequence[Any]) -> Operation:
    _, party, op_id, version, state, priority, affiliation, volumes = row
    return unchecked(
        Operation,
        party=party,
        id=op_id,
        volumes=_volumes(volumes),
        state=_STATES[state],
        version=int(version),
        priority=int(priority),
        affiliation=affiliation,
    )


#: States by stored value (the enum's own lookup costs some twenty times a dictionary's).
_STATES: Final = {state.value: state for state in OperationState}


def _overlap_to_dict(o: Overlap, region_wkb: bytes) -> dict[str, Any]:
    stored = {
        "volume_a": o.volume_a,
        "volume_b": o.volume_b,
        # as GEOS writes hex WKB (upper case), four times faster from the bytes
        "region_wkb": region_wkb.hex().upper(),
        "lower_m": o.lower_m,
        "upper_m": o.upper_m,
        "datum": o.datum.value,
        "start": format_utc(o.start),
        "end": format_utc(o.end),
        "horizontal_distance_m": o.horizontal_distance_m,
        "vertical_gap_m": o.vertical_gap_m,
        "time_gap_s": o.time_gap_s,
    }
    if o.cells is not None:
        stored["cells"] = sorted(o.cells)
    return stored


def _overlap_from_dict(d: dict[str, Any]) -> Overlap:
    return Overlap(
        volume_a=int(d["volume_a"]),
        volume_b=int(d["volume_b"]),
        region=shapely.from_wkb(d["region_wkb"]),
        lower_m=float(d["lower_m"]),
        upper_m=float(d["upper_m"]),
        datum=Datum(d["datum"]),
        start=parse_utc(d["start"], "start"),
        end=parse_utc(d["end"], "end"),
        horizontal_distance_m=float(d["horizontal_distance_m"]),
        vertical_gap_m=float(d["vertical_gap_m"]),
        time_gap_s=float(d["time_gap_s"]),
        cells=frozenset(d["cells"]) if "cells" in d else None,
    )


def _conflict(row: Sequence[Any]) -> StrategicConflict:
    a_party, a_id, a_version, b_party, b_id, b_version, h, v, t, overlaps = row
    return StrategicConflict(
        OperationRef(a_party, a_id, int(a_version)),
        OperationRef(b_party, b_id, int(b_version)),
        Minima(h, v, t),
        tuple(_overlap_from_dict(d) for d in orjson.loads(overlaps)),
    )


def datum_key(band: AltitudeBand) -> str:
    """What two bands must share for the engine to compare them raw
    (:func:`~deconfliction.geo.altitude.comparable_intervals`): the datum, and for AGL the
    ground elevation too. ``repr`` gives each float exactly, so two bands with equal keys
    are compared raw; two with different keys may be too (-0.0 and 0.0), which only keeps
    more candidates."""
    return band.datum.value if band.datum is not Datum.AGL else f"{band.datum.value}:{band.ground_m!r}"


#: Widening of the raw altitude filter beyond the vertical minimum (see ``candidate_keys``).
_RAW_SLACK_M: Final = 0.001


def volume_cells(operation: Operation, resolution: int = RESOLUTION) -> list[frozenset[int]]:
    """The cells each volume of ``operation`` is indexed by: its footprint's candidate cells."""
    return [candidate_cells(v.footprint, 0.0, resolution) for v in operation.volumes]


# --- statements -------------------------------------------------------------------------

_INSERT_PARTY: Final = "INSERT INTO parties (id, name, kind) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING"
_INSERT_OP: Final = (
    "INSERT INTO operations (party, id, version, state, priority, affiliation, volumes, claim_m2s)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (party, id) DO NOTHING RETURNING op_key"
)
_UPDATE_OP: Final = (
    "UPDATE operations SET version = ?, state = ?, priority = ?, affiliation = ?, volumes = ?, claim_m2s = ?"
    " WHERE party = ? AND id = ? AND version = ? RETURNING op_key"
)
#: Locks the party's row of ``party_limits`` (making it if missing) and reads its limits
#: and the space-time it holds: an upsert, because a missing row cannot be locked.
LOCK_PARTY_LIMITS: Final = (
    "INSERT INTO party_limits (party, held_m2s) VALUES (?, 0) ON CONFLICT (party) DO UPDATE"
    " SET held_m2s = party_limits.held_m2s RETURNING max_volume_area_m2, max_altitude_span_m,"
    " max_duration_s, max_volumes, max_claim_m2s, held_m2s"
)
_ADD_HELD: Final = (
    "INSERT INTO party_limits (party, held_m2s) VALUES (?, ?) ON CONFLICT (party) DO UPDATE"
    " SET held_m2s = party_limits.held_m2s + excluded.held_m2s"
)
_INSERT_CELL: Final = (
    "INSERT INTO volume_cells (cell, span, t_end_s, op_key, idx, t_start_s, alt_lo_msl_m, alt_hi_msl_m,"
    " lat_lo, lat_hi, lon_lo, lon_hi, datum_key, alt_lo_m, alt_hi_m)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# Candidate keys for one searched volume. Every filter but party and state is answered
# from the cell index; the rest join to operations only for entries that passed. The
# comparisons are inclusive where the engine's are strict: a candidate search may only
# err on the side of too many. ``k`` gives each duration class the latest end an entry
# of that class can have and still overlap the searched window, which bounds the range
# the index is read over.
_CANDIDATE_FILTERS: Final = (
    " AND c.alt_hi_msl_m >= ? AND c.alt_lo_msl_m <= ?"
    " AND (c.datum_key <> ? OR (c.alt_hi_m >= ? AND c.alt_lo_m <= ?))"
    " AND c.lat_hi >= ? AND c.lat_lo <= ? AND c.lon_hi >= ? AND c.lon_lo <= ?"
    f" AND o.party <> ? AND o.state IN ({', '.join('?' for _ in _LIVE)})"
)
_CANDIDATE_KEYS: Final = (
    "SELECT DISTINCT c.op_key, c.idx FROM ("
    + " UNION ALL ".join(f"SELECT {k} AS span, ? AS t_hi" for k in range(len(SPAN_LIMITS_S)))
    + ") k JOIN volume_cells c ON c.span = k.span AND c.t_end_s <= k.t_hi"
    " JOIN operations o ON o.op_key = c.op_key"
    " WHERE c.cell {in_ints} AND c.t_end_s >= ? AND c.t_start_s <= ?" + _CANDIDATE_FILTERS
)
#: The same search with the classes' end ranges in an OR (``Dialect.spans_as_or``).
_CANDIDATE_KEYS_BY_SPAN: Final = (
    "SELECT DISTINCT c.op_key, c.idx FROM volume_cells c JOIN operations o ON o.op_key = c.op_key"
    " WHERE c.cell {in_ints} AND ("
    + " OR ".join(f"(c.span = {k} AND c.t_end_s >= ? AND c.t_end_s <= ?)" for k in range(len(SPAN_LIMITS_S)))
    + ") AND c.t_start_s <= ?"
    + _CANDIDATE_FILTERS
)
_CANDIDATE_ROWS: Final = "SELECT op_key, party, id, version, volumes FROM operations WHERE op_key {in_ints}"
_CONFLICT_COLUMNS: Final = (
    "a_party, a_id, a_version, b_party, b_id, b_version, horizontal_m, vertical_m, time_s, overlaps_json"
)


class SqlTransaction:
    """:class:`~deconfliction.store.base.Transaction` over one open SQL transaction."""

    def __init__(self, conn: Connection, dialect: Dialect, resolution: int = RESOLUTION) -> None:
        self._conn = conn
        self._d = dialect
        self._resolution = resolution
        self._repos: dict[type[Any], Any] = {}
        # Footprints searched in this transaction, by identity, with the cells they are
        # indexed by, found with the search: a filing indexes the very footprints it just
        # searched with (see geo.cells.search_and_index_cells).
        self._searched: dict[int, tuple[Footprint, frozenset[int]]] = {}
        # Operations inserted in this transaction that no conflict row written since names:
        # they can have none stored, so storing theirs needs no DELETE first, and a filing
        # writes its conflicts with one statement (on PostgreSQL the DELETE was a round trip
        # of 0.15-0.3 ms; docs/stores.md).
        self._fresh: set[tuple[str, str]] = set()
        # Change to each party's space-time held (engine.limits) by the operations written
        # in this transaction, added to its party_limits row as the transaction ends: one
        # statement per party however many operations a batch writes.
        self._held: dict[str, float] = {}

    def before_commit(self) -> None:
        """Run the repositories' :meth:`SqlRepo.before_commit`: the stores call it as the
        body of a transaction ends without an error, before they commit."""
        for repo in list(self._repos.values()):
            repo.before_commit()
        # in party order, as LimitsRepo locks them, so two transactions never wait in a circle
        self._many(_ADD_HELD, sorted((party, held) for party, held in self._held.items() if held))
        self._held.clear()

    def pending_held(self, party: str) -> float:
        """The change to ``party``'s space-time held written in this transaction and not
        yet added to its stored total, m²·s."""
        return self._held.get(party, 0.0)

    def forget_pending_held(self, party: str) -> None:
        """Drop ``party``'s pending change (its total was just counted afresh)."""
        self._held.pop(party, None)

    def _claimed(self, party: str, delta_m2s: float) -> None:
        self._held[party] = self._held.get(party, 0.0) + delta_m2s

    def repo(self, kind: type[R]) -> R:
        """The feature repository ``kind`` (a :class:`SqlRepo`) inside this transaction.

        Features beyond parties, operations and conflicts (credentials, events, audit,
        hotline, F3548) keep their SQL in their own repository modules and migrations,
        sharing this transaction, so a use-case still commits everything at once.
        """
        found = self._repos.get(kind)
        if found is None:
            found = self._repos[kind] = kind(self)
        return found

    @property
    def dialect(self) -> Dialect:
        return self._d

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        cursor: Cursor = self._conn.execute(self._d.sql(sql), tuple(params))
        return cursor

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            self._conn.cursor().executemany(self._d.sql(sql), rows)

    # parties -----------------------------------------------------------------------

    def add_party(self, party: Party) -> None:
        cursor = self._x(_INSERT_PARTY + " RETURNING id", (party.id, party.name, party.kind.value))
        if cursor.fetchone() is None:
            raise AlreadyExists(f"party {party.id!r} already exists")

    def get_party(self, party_id: str) -> Party:
        row = self._x("SELECT id, name, kind FROM parties WHERE id = ?", (party_id,)).fetchone()
        if row is None:
            raise NotFound(f"no party {party_id!r}")
        return Party(row[0], row[1], PartyKind(row[2]))

    def list_parties(self) -> list[Party]:
        rows = self._x("SELECT id, name, kind FROM parties ORDER BY id").fetchall()
        return [Party(r[0], r[1], PartyKind(r[2])) for r in rows]

    def set_pair_minima(self, party_a: str, party_b: str, minima: Minima) -> None:
        a, b = pair_key(party_a, party_b)
        try:
            self._x(
                "INSERT INTO pair_minima (party_a, party_b, horizontal_m, vertical_m, time_s)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (party_a, party_b) DO UPDATE SET"
                " horizontal_m = excluded.horizontal_m, vertical_m = excluded.vertical_m,"
                " time_s = excluded.time_s",
                (a, b, minima.horizontal_m, minima.vertical_m, minima.time_s),
            )
        except self._d.integrity_error as exc:
            raise NotFound(f"no party {a!r} or no party {b!r}") from exc

    def pair_minima(self) -> dict[tuple[str, str], Minima]:
        rows = self._x(
            "SELECT party_a, party_b, horizontal_m, vertical_m, time_s FROM pair_minima"
            " ORDER BY party_a, party_b"
        ).fetchall()
        return {(r[0], r[1]): Minima(r[2], r[3], r[4]) for r in rows}

    # operations --------------------------------------------------------------------

    def _volume_cells(self, operation: Operation) -> list[frozenset[int]]:
        out = []
        for volume in operation.volumes:
            searched = self._searched.get(id(volume.footprint))
            if searched is not None and searched[0] is volume.footprint:
                out.append(searched[1])
            else:
                out.append(candidate_cells(volume.footprint, 0.0, self._resolution))
        return out

    def insert_operation(self, operation: Operation) -> None:
        self.insert_indexed(operation, self._volume_cells(operation))

    def insert_indexed(self, operation: Operation, cells: Sequence[frozenset[int]]) -> None:
        """:meth:`insert_operation` with the coverings already computed (by
        :func:`volume_cells` at this store's resolution), so bulk loaders can compute
        them in parallel. Not part of the protocol."""
        op = operation
        claim = operation_claim_m2s(op)
        try:
            row = self._x(_INSERT_OP, (op.party, op.id, *_op_values(op, claim))).fetchone()
        except self._d.integrity_error as exc:
            raise NotFound(f"no party {op.party!r}") from exc
        if row is None:
            raise AlreadyExists(f"operation {op.id!r} of party {op.party!r} already exists")
        self._index(int(row[0]), op, cells)
        self._fresh.add((op.party, op.id))
        if op.live:
            self._claimed(op.party, claim)

    def _index(self, op_key: int, operation: Operation, cells: Sequence[frozenset[int]]) -> None:
        if len(cells) != len(operation.volumes):
            raise InvalidInput("cells", "one covering per volume is needed")
        cell_rows: list[tuple[float | str, ...]] = []
        for idx, (volume, covered) in enumerate(zip(operation.volumes, cells, strict=True)):
            lo, hi = volume.band.msl_envelope()
            t0, t1 = volume.window.start_s, volume.window.end_s
            span = span_class(t1 - t0)
            band = volume.band
            filed = (*volume.footprint.bbox(), datum_key(band), band.lower_m, band.upper_m)
            cell_rows.extend((cell, span, t1, op_key, idx, t0, lo, hi, *filed) for cell in sorted(covered))
        self._many(_INSERT_CELL, cell_rows)

    def update_operation(self, operation: Operation, expected_version: int) -> None:
        op = operation
        if op.version != expected_version + 1:
            raise InvalidInput(
                "version", f"the new version must be {expected_version + 1} (expected + 1), got {op.version}"
            )
        cells = self._volume_cells(op)
        # The party's row first, then the operation's: every writer locks in that order
        # (on PostgreSQL; SQLite has one writer), so none waits on another in a circle.
        self._x(LOCK_PARTY_LIMITS, (op.party,)).fetchone()
        old = self._x(
            "SELECT state, claim_m2s FROM operations WHERE party = ? AND id = ? AND version = ?",
            (op.party, op.id, expected_version),
        ).fetchone()
        claim = operation_claim_m2s(op)
        row = self._x(_UPDATE_OP, (*_op_values(op, claim), op.party, op.id, expected_version)).fetchone()
        if row is None:
            current = self._x(
                "SELECT version FROM operations WHERE party = ? AND id = ?", (op.party, op.id)
            ).fetchone()
            if current is None:
                raise NotFound(f"no operation {op.id!r} of party {op.party!r}")
            raise StaleVersion(
                f"operation {op.id!r} of party {op.party!r} is at version {current[0]}, "
                f"not {expected_version}"
            )
        op_key = int(row[0])
        # An operation written before claims were stored has none (NULL): its party's
        # total is then uncounted too, and is counted afresh before it is next used.
        released = float(old[1] or 0.0) if old[0] in _LIVE else 0.0
        self._claimed(op.party, (claim if op.live else 0.0) - released)
        self._x("DELETE FROM volume_cells WHERE op_key = ?", (op_key,))
        self._index(op_key, op, cells)

    def get_operation(self, party: str, operation_id: str) -> Operation:
        row = self._x(
            f"SELECT {_OP_COLUMNS} FROM operations o WHERE o.party = ? AND o.id = ?", (party, operation_id)
        ).fetchone()
        if row is None:
            raise NotFound(f"no operation {operation_id!r} of party {party!r}")
        return _operation(row)

    def list_operations(
        self, party: str | None = None, states: frozenset[OperationState] | None = None
    ) -> list[Operation]:
        where = []
        params: list[Any] = []
        if party is not None:
            where.append("o.party = ?")
            params.append(party)
        if states is not None:
            if not states:
                return []
            where.append(f"o.state IN ({', '.join('?' for _ in states)})")
            params.extend(sorted(s.value for s in states))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._x(f"SELECT {_OP_COLUMNS} FROM operations o{clause} ORDER BY o.party, o.id", params)
        return [_operation(r) for r in rows.fetchall()]

    def find_candidates(
        self, volumes: Sequence[Volume4D], reach: Minima, exclude_party: str
    ) -> list[Candidate]:
        return self.find_candidates_of_each([volumes], reach, exclude_party)[0]

    def find_candidates_of_each(
        self, volume_sets: Sequence[Sequence[Volume4D]], reach: Minima, exclude_party: str
    ) -> list[list[Candidate]]:
        # One operation decoded once, however many of the sets it is a candidate of.
        pairs: list[dict[int, set[tuple[int, int]]]] = []
        for volumes in volume_sets:
            found: dict[int, set[tuple[int, int]]] = defaultdict(set)
            for i, volume in enumerate(volumes):
                cells, own = search_and_index_cells(volume.footprint, reach.horizontal_m, self._resolution)
                self.remember_search(volume.footprint, own)
                for op_key, idx in self.candidate_keys(volume, cells, reach, exclude_party):
                    found[op_key].add((i, idx))
            pairs.append(found)
        needed: dict[int, set[int]] = defaultdict(set)
        for found in pairs:
            for key, matched in found.items():
                needed[key].update(j for _, j in matched)
        decoded = self.candidate_volumes(needed)
        return [
            [Candidate(ref, volumes, frozenset(found[key])) for key, ref, volumes in decoded if key in found]
            for found in pairs
        ]

    def remember_search(self, footprint: Footprint, cells: frozenset[int]) -> None:
        """Note the cells ``footprint`` is indexed by, found with its search (see
        :func:`~deconfliction.geo.cells.search_and_index_cells`), to index it by them."""
        self._searched[id(footprint)] = (footprint, cells)

    def candidate_volumes(
        self, needed: Mapping[int, Iterable[int]]
    ) -> list[tuple[int, OperationRef, dict[int, Volume4D]]]:
        """For each operation key in ``needed``, its reference and the volumes of it with
        the indices given (decoded; the others are not), in (party, id) order."""
        if not needed:
            return []
        rows = self._x(_CANDIDATE_ROWS, (self._d.int_list_param(sorted(needed)),)).fetchall()
        found = []
        for key, party, op_id, version, text in rows:
            stored = orjson.loads(text)
            volumes = {j: _stored_volume(stored[j]) for j in sorted(needed[int(key)])}
            found.append((int(key), OperationRef(party, op_id, int(version)), volumes))
        found.sort(key=lambda item: (item[1].party, item[1].id))
        return found

    def candidate_keys(
        self, volume: Volume4D, cells: Iterable[int], reach: Minima, exclude_party: str
    ) -> list[tuple[int, int]]:
        """``(operation key, volume index)`` of the live operations' volumes of other
        parties with an index entry in ``cells`` that may come within ``reach`` of
        ``volume`` (the coarse half of the search)."""
        lo, hi = volume.band.msl_envelope()
        # the band as filed, for entries of the same datum (compared raw, as the engine
        # does), a millimetre wider than the minimum so that rounding can only keep more
        raw_lo = volume.band.lower_m - reach.vertical_m - _RAW_SLACK_M
        raw_hi = volume.band.upper_m + reach.vertical_m + _RAW_SLACK_M
        lat_lo, lat_hi, lon_lo, lon_hi = volume.footprint.bbox(reach.horizontal_m)
        t_lo = volume.window.start_s - reach.time_s
        t_hi = volume.window.end_s + reach.time_s
        ends = [t_hi + limit for limit in SPAN_LIMITS_S]
        cells_param = self._d.int_list_param(sorted(cells))
        box = (lat_lo, lat_hi, lon_lo, lon_hi)
        own = (datum_key(volume.band), raw_lo, raw_hi)
        filters = (lo - reach.vertical_m, hi + reach.vertical_m, *own, *box, exclude_party)
        if self._d.spans_as_or:
            ranges = [bound for end in ends for bound in (t_lo, end)]
            sql, params = _CANDIDATE_KEYS_BY_SPAN, (cells_param, *ranges, t_hi, *filters, *_LIVE)
        else:
            sql, params = _CANDIDATE_KEYS, (*ends, cells_param, t_lo, t_hi, *filters, *_LIVE)
        rows = self._x(sql, params).fetchall()
        return [(int(r[0]), int(r[1])) for r in rows]

    def count_operations(self) -> int:
        return int(self._x("SELECT COUNT(*) FROM operations").fetchone()[0])

    # conflicts ---------------------------------------------------------------------

    def replace_conflicts(
        self, party: str, operation_id: str, conflicts: Sequence[StrategicConflict]
    ) -> None:
        for n, conflict in enumerate(conflicts):
            if (conflict.a.party, conflict.a.id) != (party, operation_id):
                raise InvalidInput(f"conflicts[{n}].a", f"must be operation {operation_id!r} of {party!r}")
        if (party, operation_id) in self._fresh:
            self._fresh.discard((party, operation_id))
        else:
            self._x(
                "DELETE FROM conflicts WHERE (a_party = ? AND a_id = ?) OR (b_party = ? AND b_id = ?)",
                (party, operation_id, party, operation_id),
            )
        self._fresh.difference_update((c.b.party, c.b.id) for c in conflicts)
        ordered = [c.swapped() if (c.b.party, c.b.id) < (c.a.party, c.a.id) else c for c in conflicts]
        regions = np.empty(sum(len(c.overlaps) for c in ordered), dtype=object)
        regions[:] = [o.region for c in ordered for o in c.overlaps]
        wkbs = iter(shapely.to_wkb(regions).tolist())  # one call for every region
        rows = []
        for c in ordered:
            rows.append(
                (
                    c.a.party,
                    c.a.id,
                    c.a.version,
                    c.b.party,
                    c.b.id,
                    c.b.version,
                    c.minima.horizontal_m,
                    c.minima.vertical_m,
                    c.minima.time_s,
                    c.start.timestamp(),
                    c.end.timestamp(),
                    _json([_overlap_to_dict(o, next(wkbs)) for o in c.overlaps]),
                )
            )
        try:
            self._many(
                "INSERT INTO conflicts (a_party, a_id, a_version, b_party, b_id, b_version,"
                " horizontal_m, vertical_m, time_s, start_s, end_s, overlaps_json)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        except self._d.integrity_error as exc:
            raise NotFound(f"a conflict of {operation_id!r} names an operation that is not stored") from exc

    def conflicts_of(self, party: str, operation_id: str | None = None) -> list[StrategicConflict]:
        order = " ORDER BY start_s, a_party, a_id, b_party, b_id"
        if operation_id is None:
            rows = self._x(
                f"SELECT {_CONFLICT_COLUMNS}, start_s FROM conflicts WHERE a_party = ? OR b_party = ?{order}",
                (party, party),
            ).fetchall()
        else:
            rows = self._x(
                f"SELECT {_CONFLICT_COLUMNS}, start_s FROM conflicts"
                f" WHERE (a_party = ? AND a_id = ?) OR (b_party = ? AND b_id = ?){order}",
                (party, operation_id, party, operation_id),
            ).fetchall()
        return [_conflict(r[:-1]).seen_by(party) for r in rows]


class SqlRepo:
    """Base of a feature repository: runs its SQL on the transaction that made it."""

    def __init__(self, tx: SqlTransaction) -> None:
        self.tx = tx

    def before_commit(self) -> None:
        """Work left to do inside the transaction as it ends (none unless a repository says)."""

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.tx._x(sql, params)

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.tx._many(sql, rows)


R = TypeVar("R", bound=SqlRepo)


def translate(exc: Exception, backend: str) -> StoreError:
    """A driver error as our :class:`StoreError` (the caller raises it ``from exc``)."""
    return StoreError(f"{backend} store failed: {exc}")
