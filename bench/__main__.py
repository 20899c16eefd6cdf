"""Run the benchmarks: `make bench` (all) or `python -m bench NAME ...` (bench_NAME.py only).

Each `bench/bench_*.py` module has a `main()` that prints its own table (medians and ratios
measured in one run; this machine is noisy). Record the tables in docs/benchmarks.md.
"""

import importlib
import os
import pkgutil
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main(argv: list[str]) -> int:
    wanted = set(argv)
    names = sorted(
        m.name
        for m in pkgutil.iter_modules([os.path.dirname(__file__)])
        if m.name.startswith("bench_") and (not wanted or m.name.removeprefix("bench_") in wanted)
    )
    if not names:
        print(f"No benchmark matches {sorted(wanted)}.", file=sys.stderr)
        return 2
    for name in names:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.{name}").main()
        print(f"({name} took {time.perf_counter() - started:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
