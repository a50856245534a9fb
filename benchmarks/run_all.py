"""Run every benchmark in this folder, one after the other, with its default settings (``make bench``).

Each script prints its own table with its baseline measured in the same run; this runner
prints a header per script, keeps going when one fails, and exits non-zero if any did.
The whole set takes hours on a 2-core machine (``bench_backends.py`` alone about half an
hour); run a single script for one question. Pass script names to run only those:

    python benchmarks/run_all.py bench_sweep bench_compare
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: helpers that are not benchmarks of their own
SKIP = {"run_all.py", "count_tests.py", "compare_fa_before_after.py"}


def scripts(names: list[str]) -> list[Path]:
    found = sorted(p for p in HERE.glob("bench_*.py") if p.name not in SKIP)
    if not names:
        return found
    chosen = []
    for n in names:
        match = [p for p in found if p.stem == n or p.name == n]
        if not match:
            raise SystemExit(f"run_all: no benchmark {n!r}; have: " + ", ".join(p.stem for p in found))
        chosen += match
    return chosen


def main(argv: list[str]) -> int:
    failed = []
    for script in scripts(argv):
        print(f"\n=== {script.name} ===", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"=== {script.name}: exit {rc}, {time.perf_counter() - t0:.0f} s ===", flush=True)
        if rc:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
