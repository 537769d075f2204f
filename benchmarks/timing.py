"""Timing shared by the benchmarks: one call's seconds, and medians of calls run side by side.

Invariant: `side_by_side` warms every call up once, then runs them interleaved, rotating the
order each round, so that a drift of the machine (another process, a warm cache) reaches
every contender alike.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from statistics import median
from typing import Any


def timed(call: Callable[[], Any]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def side_by_side(calls: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """The median seconds of each call over `repeats` interleaved rounds after a warm-up."""
    for call in calls.values():
        call()
    seconds: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for index in range(repeats):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            seconds[name].append(timed(calls[name]))
    return {name: median(values) for name, values in seconds.items()}
