"""Exit codes, and the one place where exceptions become them."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Final, ParamSpec, TypeVar

from deconfliction.errors import Conflict, DeconflictionError, InvalidInput, NotFound, StoreError

EXIT_OK: Final = 0
EXIT_CONFLICTS_FOUND: Final = 1  #: `check` found conflicts (like diff and grep, 1 means "found")
EXIT_USAGE: Final = 2  #: click's own code for a malformed command line
EXIT_INVALID_INPUT: Final = 3
EXIT_NOT_FOUND: Final = 4
EXIT_STATE_CONFLICT: Final = 5  #: stale version, id taken, transition not allowed
EXIT_STORE: Final = 6
EXIT_UNREACHABLE: Final = 7  #: a feed or server named on the command line cannot be reached

#: Walked in the exception's method resolution order, so subclasses inherit their code.
EXIT_CODES: Final[dict[type[DeconflictionError], int]] = {
    InvalidInput: EXIT_INVALID_INPUT,
    NotFound: EXIT_NOT_FOUND,
    Conflict: EXIT_STATE_CONFLICT,
    StoreError: EXIT_STORE,
}

P = ParamSpec("P")
R = TypeVar("R")


def exit_code_for(exc: DeconflictionError) -> int:
    """The exit code of the nearest class in ``exc``'s hierarchy that has one."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return EXIT_STORE


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Print our errors as one line on stderr and exit with their code, without a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DeconflictionError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise SystemExit(exit_code_for(exc)) from None

    return wrapper


def fail(message: str, code: int) -> SystemExit:
    """Print ``message`` as :func:`reports_errors` does; raise what this returns."""
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(code)
