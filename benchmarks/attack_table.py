"""The attack table of docs/disclosure.md ("Attacks measured"): every attack of the suite
(``tests/attacks/harness.py``) under the default policy, with a small budget, and under
the exact rule, each on a fresh SQLite store; printed as a markdown table.

    PYTHONPATH=src .venv/bin/python benchmarks/attack_table.py

The suite's tests assert the targets; this only measures and prints.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "attacks"))

from harness import ALLOWANCE, ATTACKS, Result, play

from deconfliction.store import open_store

#: The small budget of the comparison (as in tests/attacks/test_attacks.py).
SMALL_BUDGET = 2_000


def _run(directory: Path, attack: str, exact: bool, budget: int | None) -> Result:
    store = open_store(f"sqlite:///{directory / f'{len(list(directory.iterdir()))}.sqlite'}")
    try:
        return play(store, attack, exact, budget)[0]
    finally:
        store.close()


def _alarm(result: Result) -> str:
    return "none" if result.first_alarm is None else str(result.first_alarm)


def _shares(result: Result) -> str:
    return f"{result.recovered.outline:.1%} / {result.recovered.area:.1%}"


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for attack in ATTACKS:
            grid = _run(directory, attack, False, None)
            small = _run(directory, attack, False, SMALL_BUDGET)
            exact = _run(directory, attack, True, None)
            rows.append(
                f"| {attack} | {grid.changes} | {_shares(grid)} ({grid.charged:,}) "
                f"| {_shares(small)} ({small.charged:,}) | {_shares(exact)} "
                f"| {_alarm(grid)} / {_alarm(exact)} |"
            )
    print(
        f"| attack (allowance {ALLOWANCE} changes) | changes used "
        "| default policy: outline / area (units charged) "
        f"| budget {SMALL_BUDGET:,}: outline / area (units charged) | exact rule: outline / area "
        "| change of the first alarm (grid / exact) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
