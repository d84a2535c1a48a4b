"""deconfliction: airspace deconfliction between parties who do not trust each other.

The library's public API, for use from Python (``docs/library.md``)::

    from deconfliction import AltitudeBand, Circle, MinimaPolicy, Operation, Position
    from deconfliction import TimeWindow, Volume4D, all_conflicts, open_store

Each name is loaded from its module the first time it is used, so ``import
deconfliction`` (and the command line, which reads ``__version__``) stays fast: the
geometry libraries, the stores and the HTTP client are imported only by what uses them.
Everything not listed in ``__all__`` is internal and may change without notice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from deconfliction.lazy import exports

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_HOMES: Final[dict[str, str]] = {
    # volumes: footprints, altitude bands with their datum, UTC windows
    "AltitudeBand": "deconfliction.geo.altitude",
    "ArcSector": "deconfliction.geo.footprint",
    "Circle": "deconfliction.geo.footprint",
    "Corridor": "deconfliction.geo.footprint",
    "Datum": "deconfliction.geo.altitude",
    "Polygon": "deconfliction.geo.footprint",
    "Position": "deconfliction.geo.footprint",
    "Racetrack": "deconfliction.geo.footprint",
    "TimeWindow": "deconfliction.geo.timewindow",
    "Volume4D": "deconfliction.geo.volume",
    # operations, minima and the strategic engine
    "Minima": "deconfliction.engine.minima",
    "MinimaPolicy": "deconfliction.engine.minima",
    "Operation": "deconfliction.engine.operation",
    "OperationState": "deconfliction.engine.operation",
    "StrategicConflict": "deconfliction.engine.strategic",
    "all_conflicts": "deconfliction.engine.strategic",
    "conflicts_with": "deconfliction.engine.strategic",
    # the tactical engine
    "ConflictPairs": "deconfliction.engine.tactical.detect",
    "TacticalConfig": "deconfliction.engine.tactical.replay",
    "TacticalEngine": "deconfliction.engine.tactical.replay",
    "detect_conflicts": "deconfliction.engine.tactical.detect",
    # stores and the filing use-case
    "OperationService": "deconfliction.service.operations",
    "Party": "deconfliction.store.base",
    "Store": "deconfliction.store.base",
    "open_store": "deconfliction.store",
    # the HTTP client
    "ApiError": "deconfliction.client",
    "Client": "deconfliction.client",
    # the exception tree
    "DeconflictionError": "deconfliction.errors",
    "InvalidInput": "deconfliction.errors",
    "NotFound": "deconfliction.errors",
}

__all__ = [
    "AltitudeBand",
    "ApiError",
    "ArcSector",
    "Circle",
    "Client",
    "ConflictPairs",
    "Corridor",
    "Datum",
    "DeconflictionError",
    "InvalidInput",
    "Minima",
    "MinimaPolicy",
    "NotFound",
    "Operation",
    "OperationService",
    "OperationState",
    "Party",
    "Polygon",
    "Position",
    "Racetrack",
    "Store",
    "StrategicConflict",
    "TacticalConfig",
    "TacticalEngine",
    "TimeWindow",
    "Volume4D",
    "__version__",
    "all_conflicts",
    "conflicts_with",
    "detect_conflicts",
    "open_store",
]


__getattr__, __dir__ = exports(__name__, _HOMES)


if TYPE_CHECKING:  # the same names, for type checkers and editors
    from deconfliction.client import ApiError, Client
    from deconfliction.engine.minima import Minima, MinimaPolicy
    from deconfliction.engine.operation import Operation, OperationState
    from deconfliction.engine.strategic import StrategicConflict, all_conflicts, conflicts_with
    from deconfliction.engine.tactical.detect import ConflictPairs, detect_conflicts
    from deconfliction.engine.tactical.replay import TacticalConfig, TacticalEngine
    from deconfliction.errors import DeconflictionError, InvalidInput, NotFound
    from deconfliction.geo.altitude import AltitudeBand, Datum
    from deconfliction.geo.footprint import ArcSector, Circle, Corridor, Polygon, Position, Racetrack
    from deconfliction.geo.timewindow import TimeWindow
    from deconfliction.geo.volume import Volume4D
    from deconfliction.service.operations import OperationService
    from deconfliction.store import open_store
    from deconfliction.store.base import Party, Store
