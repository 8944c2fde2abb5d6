"""Where the time of an enrichment goes: the runner's phases timed on the calling thread.

For the benchmarks only: ``timed_phases()`` wraps the runner's steps for the duration of
a ``with`` block and collects, per phase, the wall time and the CPU time of the thread
that runs the stages. Wall time beyond the phases is the calling thread waiting for the
I/O threads (reads and writes) or for the database.
"""

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import wraps

from enrichment.pipeline import run as runner

PHASES = ("claim", "load_claimed", "stage", "record_one", "record_many")


@contextmanager
def timed_phases() -> Iterator[dict[str, Counter]]:
    wall: Counter = Counter()
    cpu: Counter = Counter()
    caller = threading.current_thread()
    originals = {name: getattr(runner, name) for name in PHASES}

    def timed(name: str, step):
        @wraps(step)
        def wrapper(*args, **kwargs):
            if threading.current_thread() is not caller:
                return step(*args, **kwargs)
            started, started_cpu = time.perf_counter(), time.thread_time()
            try:
                return step(*args, **kwargs)
            finally:
                wall[name] += time.perf_counter() - started
                cpu[name] += time.thread_time() - started_cpu

        return wrapper

    for name, step in originals.items():
        setattr(runner, name, timed(name, step))
    try:
        yield {"wall": wall, "cpu": cpu}
    finally:
        for name, step in originals.items():
            setattr(runner, name, step)


def describe(phases: dict[str, Counter], total_wall: float, total_cpu: float) -> str:
    """One line: each phase's wall (CPU) milliseconds, and what is left of the total."""
    wall, cpu = phases["wall"], phases["cpu"]
    parts = [
        f"{name} {wall[name] * 1000:.1f} ({cpu[name] * 1000:.1f})" for name in PHASES if wall[name]
    ]
    rest = total_wall - sum(wall.values())
    rest_cpu = total_cpu - sum(cpu.values())
    parts.append(f"the rest {rest * 1000:.1f} ({rest_cpu * 1000:.1f})")
    return ", ".join(parts)
