"""Time and peak memory of the book simulator at its benchmark size (5,000 accounts x 36 months).

Run ``python benchmarks/simulate.py [accounts] [months]``; prints e.g.
``simulate 5000 accounts x 36 months: 2.9 s, peak 520 MiB (resident set; numpy arrays at peak 250 MiB)``.
The time is of a plain run; the arrays' peak comes from a second run under tracemalloc (which slows it).
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc


def main(accounts: int = 5000, months: int = 36) -> None:
    """Warm the imports, time one run, then measure the allocations of a second one."""
    import kamrisk

    kamrisk.simulate(accounts=20, months=13, seed=1)  # imports outside the measurement
    started = time.perf_counter()
    book = kamrisk.simulate(accounts=accounts, months=months, seed=7)
    elapsed = time.perf_counter() - started
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    del book
    tracemalloc.start()
    book = kamrisk.simulate(accounts=accounts, months=months, seed=7)
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"simulate {accounts} accounts x {months} months: {elapsed:.1f} s, peak {peak_rss:.0f} MiB "
          f"(resident set; allocations at peak {traced / 2**20:.0f} MiB)")
    print(book.summary())


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
