"""Fifty simultaneous logins against a real server: `make bench BENCH=logins`.

    make bench BENCH=logins                                  # gunicorn -w 2, 4 and 8
    BENCH_LOGINS_WORKERS="4" BENCH_LOGINS_ROUNDS=1 .venv/bin/python -m bench logins
    BENCH_LOGINS_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_logins \
        make bench BENCH=logins

What a login costs is the password hash: Django's default hasher (PBKDF2-SHA256 with Django's
default iterations; this benchmark never changes them) is meant to be slow. The issue's probe saw
50 simultaneous logins take up to 52 s. This measures it on the production set-up of
bench/bench_load.py (its server environment and HTTP client are reused): `gunicorn config.wsgi
-w N` (sync workers) on 127.0.0.1, DEBUG off, SECURE_SSL_REDIRECT off, static files collected
once. The database is a new SQLite file in a temporary folder, or the PostgreSQL database of
BENCH_LOGINS_DATABASE_URL (created if missing, its tables replaced; dropped at the end).

Set-up: BENCH_LOGINS_USERS (50) accounts, each with its own salt and hash (make_password per
account, as real accounts have). For each worker count in BENCH_LOGINS_WORKERS ("2 4 8"), a
server is started and BENCH_LOGINS_ROUNDS (2) rounds run: every user opens the login page (its
own cookie jar and CSRF token), then all POST their username and password at the same moment
(asyncio, one connection each). A login's latency is from sending the POST to the last byte of
the answer (a 302 with a session cookie; anything else is counted as failed). Reported per
worker count: median and max latency over the rounds, logins/s (logins / time from the common
start to the last answer, per round, median), failures; and, measured in the set-up process,
the CPU time one hash of the default hasher costs on this machine (so 50 logins need at least
50 times that / cores of wall time, whatever the worker count).

The login throttle counts failures only: 50 successful logins from 127.0.0.1 lock nothing.
"""

import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench import bench_load

ROOT = Path(__file__).resolve().parent.parent
USERS = int(os.environ.get("BENCH_LOGINS_USERS", "50"))
WORKER_COUNTS = [int(n) for n in os.environ.get("BENCH_LOGINS_WORKERS", "2 4 8").split()]
ROUNDS = int(os.environ.get("BENCH_LOGINS_ROUNDS", "2"))
PG_URL = os.environ.get("BENCH_LOGINS_DATABASE_URL", "")
PASSWORD = "bench-logins-Password-1"  # noqa: S105  (throw-away users of a throw-away database)
PREFIX = "bench-login-"


# ------------------------------------------------------------------------------------------------
# The Django side, run in a child process with the scenario's DATABASE_URL.


def _setup() -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import get_hasher, make_password
    from django.core.management import call_command
    from django.db import connection

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        bench_load._recreate_postgres()
    call_command("migrate", verbosity=0)
    User = get_user_model()
    # CPU time, not wall time: what a hash costs a core, however busy the machine is
    started = time.process_time()
    users = [
        User(username=f"{PREFIX}{i:02d}", password=make_password(PASSWORD)) for i in range(USERS)
    ]
    hashing = (time.process_time() - started) / USERS
    User.objects.bulk_create(users)
    hasher = get_hasher()
    return {
        "database": f"{connection.vendor} ({connection.settings_dict['NAME']})",
        "hasher": f"{hasher.algorithm}, {getattr(hasher, 'iterations', '?'):,} iterations",
        "hash_ms": hashing * 1000,
    }


def _child(argv: list[str]) -> None:
    bench_load._django()
    if argv[0] == "setup":
        result = _setup()
    elif argv[0] == "drop":
        bench_load._drop()
        result = {}
    else:
        raise SystemExit(f"unknown command {argv[0]}")
    print(json.dumps(result))


def _call(env: dict, *args: str) -> dict:
    done = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [sys.executable, "-m", "bench.bench_logins", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------------
# The client.


async def _round(ports: list[int]) -> dict:
    """Every user opens the login page, then all POST at once; users alternate over `ports`."""
    clients = [bench_load.Client(ports[i % len(ports)]) for i in range(USERS)]
    tokens = []
    for client in clients:  # one after the other: the pages are cheap, the POSTs are measured
        page = await client.request("GET", "/accounts/login/")
        token = bench_load._TOKEN.search(page.body)
        if page.status != 200 or token is None:
            raise RuntimeError(f"login page: HTTP {page.status}")
        tokens.append(token.group(1))

    async def login(i: int, client) -> tuple[float, bool]:
        form = {"username": f"{PREFIX}{i:02d}", "password": PASSWORD}
        form["csrfmiddlewaretoken"] = tokens[i]
        try:
            answer = await client.request("POST", "/accounts/login/", form=form)
        except (ConnectionError, TimeoutError):
            return float("nan"), False
        finally:
            client._close()
        return answer.ms, answer.status == 302 and "sessionid" in client.cookies

    started = time.perf_counter()
    results = await asyncio.gather(*(login(i, c) for i, c in enumerate(clients)))
    wall = time.perf_counter() - started
    ok = [ms for ms, good in results if good]
    return {"ms": ok, "failed": USERS - len(ok), "wall": wall}


def _serve(env: dict, workers: int, ports: list[int], log: Path) -> list[subprocess.Popen]:
    servers = []
    with log.open("a") as log_file:
        for port in ports:
            servers.append(
                subprocess.Popen(  # noqa: S603
                    [
                        sys.executable,
                        "-m",
                        "gunicorn",
                        "config.wsgi",
                        "-w",
                        str(workers),
                        "-b",
                        f"127.0.0.1:{port}",
                        "--preload",
                        "--error-logfile",
                        "-",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
            )
    for port, server in zip(ports, servers, strict=True):
        bench_load._wait_for_server(port, server, log)
    return servers


def measure(env: dict, workers: int, servers: int, log: Path) -> dict:
    """ROUNDS rounds of USERS simultaneous logins against `servers` gunicorns of `workers` each."""
    ports = [bench_load._free_port() for _ in range(servers)]
    running = _serve(env, workers, ports, log)
    rounds = []
    try:
        for _ in range(ROUNDS):
            rounds.append(asyncio.run(_round(ports)))
    finally:
        for server in running:
            bench_load._stop(server)
    latencies = [ms for r in rounds for ms in r["ms"]]
    rates = [(USERS - r["failed"]) / r["wall"] for r in rounds]
    return {
        "workers": workers,
        "servers": servers,
        "median_ms": statistics.median(latencies) if latencies else float("nan"),
        "max_ms": max(latencies) if latencies else float("nan"),
        "per_s": statistics.median(rates),
        "failed": sum(r["failed"] for r in rounds),
        "logins": len(latencies),
    }


def report(rows: list[dict]) -> None:
    print()
    print("| gunicorn | logins | median ms | max ms | logins/s | failed |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        where = f"{r['servers']} × -w {r['workers']}" if r["servers"] > 1 else f"-w {r['workers']}"
        print(
            f"| {where} | {r['logins']} | {r['median_ms']:.0f} | {r['max_ms']:.0f} "
            f"| {r['per_s']:.1f} | {r['failed']} |"
        )


def main() -> None:
    if PG_URL and not urlsplit(PG_URL).path.strip("/"):
        raise SystemExit("BENCH_LOGINS_DATABASE_URL must name a database")
    folder = Path(tempfile.mkdtemp(prefix="workbench-bench-logins-"))
    url = PG_URL or f"sqlite:///{folder}/bench.sqlite3"
    env = bench_load._environment(folder, url)
    load = os.getloadavg()
    print(
        f"{USERS} simultaneous logins x {ROUNDS} rounds; gunicorn -w {WORKER_COUNTS} (sync), "
        f"DEBUG off; {os.cpu_count()} CPUs, load average before "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    rows = []
    try:
        bench_load._call(env, "collectstatic")
        setup = _call(env, "setup")
        print(
            f"{setup['database']}; default hasher {setup['hasher']}: "
            f"{setup['hash_ms']:.0f} ms of CPU a password",
            flush=True,
        )
        for workers in WORKER_COUNTS:
            rows.append(measure(env, workers, 1, folder / "gunicorn.log"))
            print(f"-w {workers}: {rows[-1]['logins']} logins measured", flush=True)
        if PG_URL:
            _call(env, "drop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(rows)


if __name__ == "__main__":
    _child(sys.argv[1:])
