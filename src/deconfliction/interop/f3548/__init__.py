"""ASTM F3548-21 (UTM strategic coordination) as an adapter over our engine and store.

``volumes`` converts F3548 volumes and times at the edge, ``auth`` verifies USS tokens,
``service`` holds the DSS use-cases; the HTTP routes are ``deconfliction.api.dss``.
See ``docs/f3548.md``.
"""

from deconfliction.interop.f3548.auth import F3548AuthConfig, F3548Principal
from deconfliction.interop.f3548.common import AirspaceConflict
from deconfliction.interop.f3548.service import DssService

__all__ = ["AirspaceConflict", "DssService", "F3548AuthConfig", "F3548Principal"]
