"""ASTM F3548-21 at the edge: pure conversion, no store, no clock.

``volumes`` converts F3548 volumes and times, ``wire`` parses request bodies with the
``uas-standards`` models and renders results, ``auth`` verifies USS tokens. The
use-cases are :mod:`deconfliction.service.f3548`'s; the HTTP routes are
:mod:`deconfliction.api.f3548`. See ``docs/f3548.md``.
"""

from deconfliction.interop.f3548.auth import F3548AuthConfig

__all__ = ["F3548AuthConfig"]
