"""ASTM F3548-21 (UTM strategic coordination): the DSS use-cases over our engine and store.

``intents`` (operational intent and constraint references) and ``subscriptions`` (with
availability and reports) take the frozen requests of ``model`` from the edge
(:mod:`deconfliction.interop.f3548`, :mod:`deconfliction.api.f3548`) and give its results.
See ``docs/f3548.md``.
"""

from deconfliction.service.f3548.access import F3548Principal
from deconfliction.service.f3548.common import AreaTooLarge
from deconfliction.service.f3548.intents import F3548Service
from deconfliction.service.f3548.model import AirspaceConflict, UssDown

__all__ = ["AirspaceConflict", "AreaTooLarge", "F3548Principal", "F3548Service", "UssDown"]
