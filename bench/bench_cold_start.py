"""Cold start: seconds from `make run` on a fresh clone to the first page, with uv and with pip.

    make bench BENCH=cold_start
    BENCH_COLD_ROUNDS=1 .venv/bin/python -m bench cold_start

What a new user lives through: the project is cloned into a temporary folder (from this
checkout's HEAD), every package cache is empty (PIP_CACHE_DIR, UV_CACHE_DIR and XDG_CACHE_HOME
point to new empty folders), and `make run` is started; the clock stops when
/accounts/login/ answers 200. Then the server and its worker are stopped. The installer is
chosen by scripts/install-requirements: uv (installed into the new .venv from PyPI when it is
not on the PATH) or, with NO_UV=1, pip. The rounds alternate the two, BENCH_COLD_ROUNDS (3)
each, so both meet the same machine; medians are reported. A warm restart (`make run` again in
the last clone: nothing to install, the database there) is timed too. Downloads come from the
package index over the network: the figures depend on it as they do for a user.
"""

import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAKE, GIT, PKILL = (shutil.which(tool) or tool for tool in ("make", "git", "pkill"))
PORT = int(os.environ.get("BENCH_COLD_PORT", "8131"))
TIMEOUT = 600


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _run(folder: Path, env: dict) -> float:
    """Seconds from `make run` to the login page answering; the server is stopped after."""
    started = time.perf_counter()
    with open(folder / "bench-run.log", "w") as log:
        process = subprocess.Popen(  # noqa: S603  (fixed arguments)
            [MAKE, "run", f"PORT={PORT}"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while not _answers(PORT):
            if process.poll() is not None:
                raise RuntimeError(f"make run stopped; see {folder / 'bench-run.log'}")
            if time.perf_counter() - started > TIMEOUT:
                raise RuntimeError("make run did not answer within 10 minutes")
            time.sleep(0.2)
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        subprocess.run([PKILL, "-f", f"runserver 127.0.0.1:{PORT}"], check=False)  # noqa: S603
        time.sleep(1)


def _cold(base: Path, use_uv: bool) -> tuple[float, Path]:
    folder = Path(tempfile.mkdtemp(prefix="cold-", dir=base))
    subprocess.run([GIT, "clone", "-q", str(ROOT), str(folder)], check=True)  # noqa: S603
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "DATABASE_URL")}
    for name in ("PIP_CACHE_DIR", "UV_CACHE_DIR", "XDG_CACHE_HOME"):
        env[name] = tempfile.mkdtemp(prefix="cache-", dir=base)
    if use_uv:
        env.pop("NO_UV", None)
    else:
        env["NO_UV"] = "1"
    return _run(folder, env), folder


def main() -> None:
    rounds = int(os.environ.get("BENCH_COLD_ROUNDS", "3"))
    base = Path(tempfile.mkdtemp(prefix="bench-cold-"))
    times = {"uv": [], "pip": []}
    try:
        folder = None
        for _ in range(rounds):
            for name in ("pip", "uv"):
                seconds, folder = _cold(base, use_uv=name == "uv")
                times[name].append(seconds)
                print(f"  cold make run with {name}: {seconds:.1f} s", flush=True)
        env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "DATABASE_URL")}
        warm = [_run(folder, env) for _ in range(rounds)]
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print()
    print("| `make run` until the first page answers | median | runs |")
    print("|---|---|---|")
    for name in ("pip", "uv"):
        runs = ", ".join(f"{t:.1f}" for t in times[name])
        print(f"| cold, installing with {name} | {statistics.median(times[name]):.1f} s | {runs} |")
    runs = ", ".join(f"{t:.1f}" for t in warm)
    print(f"| warm restart | {statistics.median(warm):.1f} s | {runs} |")
    ratio = statistics.median(times["pip"]) / statistics.median(times["uv"])
    print(f"\npip / uv (medians): {ratio:.2f}x")
