"""The one exception tree of ``deconfliction``.

Every error the package raises on purpose is a :class:`DeconflictionError`.
Lower-level errors (shapely, pyproj, drivers) are translated where they cross into
our code with ``raise ... from exc``; the CLI (and later the HTTP API) maps these
classes to exit codes and status codes in one place each.

::

    DeconflictionError
    ├── InvalidInput                 bad data from outside; nothing was changed
    │   ├── InvalidGeometry          polygons, coordinates, radii, bearings, areas
    │   ├── InvalidAltitude          units, datums, inverted bands
    │   ├── InvalidTimeWindow        naive times, inverted or too long windows
    │   ├── InvalidDocument          a file or payload that is not what its format says
    │   │   └── InvalidFeatures      several features of one document, each with its path
    │   ├── LimitExceeded            beyond one of the party's plausibility limits
    │   └── ProtocolViolation        a private-mode message that is tampered, replayed, out of
    │                                order, truncated, over budget, or carries a bad point
    ├── NotFound                     no such object (or not one the caller may see)
    ├── Conflict                     the request contradicts the stored state
    │   ├── StaleVersion             an update against a version that is no longer current
    │   ├── AlreadyExists            create of an id that is taken
    │   ├── InvalidTransition        a state change the lifecycle does not allow
    │   ├── AwarenessRequired        activation needs an acknowledgement of the conflicts first
    │   ├── LineSuspended            a hotline line is suspended: only STOP messages pass
    │   └── GeometryMismatch         an acknowledgement echoed the hash of other geometry
    ├── AccessDenied                 the caller may not do this
    │   ├── Unauthenticated          no token, or one that is expired, forged or revoked (401)
    │   └── Forbidden                a valid token without the scope this needs (403)
    ├── RateLimited                  the party sent more requests than its rate allows (429)
    └── StoreError                   the storage backend failed or cannot be reached
        └── StoreUnavailable         a server store could not be reached
"""

from __future__ import annotations


class DeconflictionError(Exception):
    """Base of every error raised on purpose by this package."""


class InvalidInput(DeconflictionError, ValueError):
    """Input broke a rule; ``field`` names where and the message says which rule.

    ``field`` is a dotted path into the input (``volumes[2].footprint.vertices[0].lat``)
    so a person can find the offending value.
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.rule = message
        super().__init__(f"{field}: {message}" if field else message)

    def within(self, prefix: str) -> InvalidInput:
        """The same error, with ``prefix`` prepended to its field path."""
        path = f"{prefix}.{self.field}" if self.field else prefix
        if self.field.startswith("["):
            path = f"{prefix}{self.field}"
        return type(self)(path, self.rule)


class InvalidGeometry(InvalidInput):
    """A footprint or coordinate that is malformed, degenerate or too large."""


class InvalidAltitude(InvalidInput):
    """An altitude with unknown units or datum, or a band whose lower is above its upper."""


class InvalidTimeWindow(InvalidInput):
    """A time that is not UTC, or a window that is inverted or longer than allowed."""


class InvalidDocument(InvalidInput):
    """A file or payload that does not follow its documented format."""


class LimitExceeded(InvalidInput):
    """A filing beyond one of its party's plausibility limits (area, altitude span or
    duration of a volume, volumes of an operation, space-time held); nothing was stored."""


class ProtocolViolation(InvalidInput):
    """A private-mode message broke the protocol (docs/private-mode.md); ``code`` names
    how, for the record: ``tampered``, ``replayed``, ``reordered``, ``truncated``,
    ``non_canonical``, ``identity``, ``over_budget``, ``oversize``, ``commitment_mismatch``,
    ``out_of_turn``."""

    def __init__(self, field: str, code: str, message: str) -> None:
        self.code = code
        super().__init__(field, f"{code}: {message}")

    def within(self, prefix: str) -> ProtocolViolation:
        path = f"{prefix}.{self.field}" if self.field else prefix
        return ProtocolViolation(path, self.code, self.rule.removeprefix(f"{self.code}: "))


class InvalidFeatures(InvalidDocument):
    """Several parts of one document are invalid; ``problems`` holds each, with its path.

    Reported together so that a file with many bad features is fixed in one run, not one
    run per feature. The message lists the first :data:`MAX_LISTED` of them, one a line.
    """

    MAX_LISTED = 50

    def __init__(self, problems: list[InvalidInput]) -> None:
        self.problems = tuple(problems)
        lines = [str(p) for p in self.problems[: self.MAX_LISTED]]
        if len(self.problems) > self.MAX_LISTED:
            lines.append(f"... and {len(self.problems) - self.MAX_LISTED} more")
        first = self.problems[0]
        # str() reads "field: rule", one problem a line, the first one's field leading
        super().__init__(first.field, "\n".join([first.rule, *lines[1:]]))

    def within(self, prefix: str) -> InvalidInput:
        return InvalidFeatures([p.within(prefix) for p in self.problems])


class NotFound(DeconflictionError, LookupError):
    """The object does not exist, or the caller may not know that it exists."""


class Conflict(DeconflictionError):
    """The request contradicts the stored state (HTTP 409)."""


class StaleVersion(Conflict):
    """An update named a version that is no longer the current one."""


class AlreadyExists(Conflict):
    """A create named an id that is already taken."""


class InvalidTransition(Conflict):
    """The lifecycle does not allow this state change."""


class AwarenessRequired(Conflict):
    """An activation that conflicts with versions of other operations not yet acknowledged.

    ``details`` lists the conflicts as the caller may see them."""

    def __init__(self, message: str, details: list[dict[str, object]]) -> None:
        self.details = details
        super().__init__(message)


class LineSuspended(Conflict):
    """The hotline line between two parties is suspended: only STOP messages pass."""


class GeometryMismatch(Conflict):
    """A hotline acknowledgement echoed a geometry hash other than that of the geometry sent."""


class AccessDenied(DeconflictionError):
    """The caller may not do this."""


class Unauthenticated(AccessDenied):
    """No credentials, or a token that is expired, forged, garbled or revoked (HTTP 401)."""


class Forbidden(AccessDenied):
    """The token is valid but lacks the scope the request needs (HTTP 403)."""


class RateLimited(DeconflictionError):
    """The party is over its request rate; ``retry_after_s`` says when to try again."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class StoreError(DeconflictionError):
    """The storage backend failed."""


class StoreUnavailable(StoreError):
    """A server store could not be reached."""
