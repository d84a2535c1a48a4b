"""Run calls on threads at once, for tests of what concurrent callers see."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable


def run_at_once(calls: Iterable[Callable[[], object]], timeout_s: float) -> list[BaseException]:
    """Start a thread for each call, wait for all of them, and return what they raised
    (a thread's exception would otherwise be lost); fails if one is still running after
    ``timeout_s``."""
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            call()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout_s)
        assert not thread.is_alive()
    return failures
