"""Group filing: filings that arrive while others are being filed go in together.

A filing alone pays for its own transaction, durable commit and detection pass, whose
per-call costs are most of its work (decision 0013: about 3.3 ms of CPU one at a time
against 2.0 in batches of 50). When several threads file at once (the API's worker
threads), the first to find no group running leads: it takes every filing waiting (up to
:data:`MAX_GROUP`) and files them as one batch, in the order they came, in one
transaction, while the filings that arrive meanwhile queue for the next group. Each
filing's result is the one filing it alone, in that order, would have had
(:meth:`~deconfliction.service.operations.OperationService.insert_new`), and none returns
before the commit that stores it.

When a group fails (one of its filings names an unknown party or a taken id, say), each
of its filings is filed again alone, so that only the one at fault fails. A lone filing
is simply filed alone.
"""

from __future__ import annotations

import threading
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Generic, TypeVar

from deconfliction.engine.minima import Minima
from deconfliction.engine.operation import Operation
from deconfliction.engine.strategic import StrategicConflict
from deconfliction.store.base import Store, Transaction

#: Most filings one group files: bounds how long the first of them waits for the rest.
MAX_GROUP: Final = 32

R = TypeVar("R")

#: What a filing does in the group's transaction once its operation is inserted, with
#: the conflicts found: store them, and whatever else its use-case records; its result.
Finish = Callable[[Transaction, Operation, list[StrategicConflict]], R]


@dataclass(eq=False, slots=True)
class Filing(Generic[R]):
    """One filing waiting for, or filed by, a group."""

    operation: Operation
    finish: Finish[R]
    result: R | None = None
    error: BaseException | None = None
    done: bool = False


#: Files a group in one transaction and sets each filing's result after the commit; raises
#: (having set none) when the transaction failed.
FileGroup = Callable[[list[Filing[Any]]], None]


class FilingGroups:
    """The queue of one store's filings under one set of default minima (filings under
    other defaults would find other conflicts, so they queue apart)."""

    def __init__(self) -> None:
        self._queue: deque[Filing[Any]] = deque()
        self._leading = False
        self._changed = threading.Condition()
        #: groups filed so far and the filings they held (for checks and benchmarks)
        self.groups = 0
        self.filings = 0

    def waiting(self) -> int:
        """Filings queued for the next group."""
        with self._changed:
            return len(self._queue)

    def file(self, filing: Filing[R], file_group: FileGroup) -> R:
        """File ``filing``, with the others waiting when this thread's turn to lead comes
        (by its ``file_group``: every caller of one queue files groups the same way)."""
        with self._changed:
            self._queue.append(filing)
            while True:
                while self._leading and not filing.done:
                    self._changed.wait()
                if filing.done:
                    break
                self._leading = True
                group = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_GROUP))]
                self.groups += 1
                self.filings += len(group)
                self._changed.release()
                try:
                    _run(group, file_group)
                finally:
                    self._changed.acquire()
                    self._leading = False
                    self._changed.notify_all()
        if filing.error is not None:
            raise filing.error
        return filing.result  # type: ignore[return-value]  # set when done without an error


def _run(group: list[Filing[Any]], file_group: FileGroup) -> None:
    try:
        try:
            file_group(group)
        except Exception as failure:
            if len(group) == 1:
                group[0].error = failure
                return
            for filing in group:  # again one by one: only the filing at fault fails
                try:
                    file_group([filing])
                except Exception as exc:
                    filing.error = exc
    except BaseException as exc:  # interrupted: no filing of the group may wait forever
        for filing in group:
            if filing.result is None and filing.error is None:
                filing.error = exc
        raise
    finally:
        for filing in group:
            filing.done = True


_REGISTRY: weakref.WeakKeyDictionary[Store, dict[Minima, FilingGroups]] = weakref.WeakKeyDictionary()
_REGISTERING: Final = threading.Lock()


def groups_for(store: Store, default_minima: Minima) -> FilingGroups:
    """The one queue of ``store``'s filings under ``default_minima`` in this process (the
    API makes a service per request; they must all queue together)."""
    with _REGISTERING:
        by_minima = _REGISTRY.setdefault(store, {})
        found = by_minima.get(default_minima)
        if found is None:
            found = by_minima[default_minima] = FilingGroups()
        return found
