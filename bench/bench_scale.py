"""Two web servers and two workers on one PostgreSQL, on loopback: `make bench BENCH=scale`.

    make bench BENCH=scale
    BENCH_SCALE_DATABASE_URL=postgres://postgres@127.0.0.1:5432/other make bench BENCH=scale
    BENCH_SCALE_PARTS=demo .venv/bin/python -m bench scale        # sessions and tasks only

Skipped, with a message, when PostgreSQL does not answer at BENCH_SCALE_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/scale_demo). That database is dropped and created again for
each part (its contents are lost), and dropped at the end unless BENCH_SCALE_KEEP is set.

The processes are those of a deployment on several machines, here on one: two `gunicorn
config.wsgi --preload` servers on two ports of 127.0.0.1 (--preload: the app, URL conf included,
is imported once in the master; without it four cold workers importing it at once on the busy
machine overran gunicorn's 30 s timeout and answered 500), two `manage.py db_worker --queue-name '*'
--no-reload` workers (each with its own --worker-id; at nice 19 as the README runs it in the load
part, at normal priority in the demo part, where only which worker runs what matters), all with
the same settings (bench_load's server environment: DEBUG off, SECURE_SSL_REDIRECT off, one
SECRET_KEY), one PostgreSQL database and one MEDIA_ROOT folder (what shared storage is on
several machines). Only the processes and the database are shared, nothing in memory.

Part "demo" (the demo site of `make run`, loaded with `load_demo --allow-production`):
- **sessions**: the lead logs in on server A; the session cookie opens the review list on
  server B; a CSRF token read from a page of A is accepted by a POST (log out) on B, after which
  A no longer knows the session (the login page).
- **each task once**: EXPORT_INLINE_MAX_RECORDS=0 turns every Excel export into a background
  job; the lead asks for BENCH_SCALE_TASKS (24) exports, alternating servers. Each is run by one
  of the two workers: counted from the workers' own logs (django.tasks logs "Task id=… state=
  RUNNING" each time a worker starts a task) and from the task rows (status, worker ids); every
  job's workbook is then downloaded from the server that did not queue it (the file the worker
  wrote to MEDIA_ROOT).

Part "load": bench/bench_load.py's benchmark (50 reviewers, a 20,000-record dual blind review, its
set-up, client, checks and tables; BENCH_LOAD_* variables apply: BENCH_LOAD_SECONDS, 60 by
default) run twice on the same machine: against one server (gunicorn -w 4, one worker) and
against two servers (-w 2 each, the same four web processes; two workers), each reviewer's
requests alternating between the two (every request opens a new connection: sync workers
close it), so every reviewer's session and CSRF token cross servers all the time. Pace:
BENCH_SCALE_PACES (realistic).
"""

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from bench import bench_load

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/scale_demo")
PARTS = os.environ.get("BENCH_SCALE_PARTS", "demo load").split()
TASKS = int(os.environ.get("BENCH_SCALE_TASKS", "24"))
PACES = os.environ.get("BENCH_SCALE_PACES", "realistic").split()
LEAD = ("lead", "lead-demo-2026")  # the demo's published account (review/demo.py)
_RUNNING = re.compile(r"Task id=(\S+) path=(\S+) state=RUNNING")
_JOB = re.compile(r"/export/jobs/(\d+)/")


# ------------------------------------------------------------------------------------------------
# The Django side, run in a child process with DATABASE_URL set.


def _setup_demo() -> dict:
    from django.core.management import call_command

    from review.models import Record, Review

    bench_load._recreate_postgres()
    call_command("migrate", verbosity=0)
    call_command("load_demo", allow_production=True, verbosity=0)
    return {"reviews": Review.objects.count(), "records": Record.objects.count()}


def _jobs() -> dict:
    from django_tasks_db.models import DBTaskResult

    from screening.models import ExportJob

    results = [
        {"id": str(r.id), "status": r.status, "workers": r.worker_ids, "args": r.args_kwargs}
        for r in DBTaskResult.objects.filter(task_path__endswith="run_export")
    ]
    return {
        "tasks": results,
        "jobs": dict(Counter(ExportJob.objects.values_list("status", flat=True))),
    }


def _child(argv: list[str]) -> None:
    bench_load._django()
    if argv[0] == "setup-demo":
        result = _setup_demo()
    elif argv[0] == "jobs":
        result = _jobs()
    elif argv[0] == "drop":
        bench_load._drop()
        result = {}
    else:
        raise SystemExit(f"unknown command {argv[0]}")
    print(json.dumps(result))


def _call(env: dict, *args: str) -> dict:
    done = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [sys.executable, "-m", "bench.bench_scale", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _postgres_answers(url: str) -> str | None:
    """None when PostgreSQL answers at url's server, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql") or not parts.path.strip("/"):
        return f"BENCH_SCALE_DATABASE_URL is not a PostgreSQL database URL: {url}"
    try:
        with psycopg.connect(parts._replace(path="/postgres").geturl(), connect_timeout=3):
            return None
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]


# ------------------------------------------------------------------------------------------------
# The processes.


class Site:
    """`servers` gunicorns of `workers` web workers each, and `task_workers` db_workers."""

    def __init__(
        self, env: dict, folder: Path, servers: int, workers: int, task_workers: int, nice=19
    ):
        self.env, self.folder, self.nice = env, folder, nice
        self.ports = [bench_load._free_port() for _ in range(servers)]
        self.workers, self.task_workers = workers, task_workers
        self.processes: list[subprocess.Popen] = []
        self.servers: list[subprocess.Popen] = []
        self.task_worker_processes: list[subprocess.Popen] = []

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.log"

    def __enter__(self):
        try:
            for n, port in enumerate(self.ports, 1):
                with self.log(f"server-{n}").open("a") as log:
                    self.servers.append(
                        subprocess.Popen(  # noqa: S603
                            [
                                sys.executable,
                                "-m",
                                "gunicorn",
                                "config.wsgi",
                                "-w",
                                str(self.workers),
                                "-b",
                                f"127.0.0.1:{port}",
                                "--preload",
                                "--error-logfile",
                                "-",
                            ],
                            cwd=ROOT,
                            env=self.env,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        )
                    )
            for n in range(1, self.task_workers + 1):
                with self.log(f"worker-{n}").open("a") as log:
                    self.task_worker_processes.append(
                        subprocess.Popen(  # noqa: S603
                            [
                                sys.executable,
                                "manage.py",
                                "db_worker",
                                "--queue-name",
                                "*",
                                "--no-reload",
                                "--worker-id",
                                f"scale-worker-{n}",
                            ],
                            cwd=ROOT,
                            env=self.env,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            preexec_fn=lambda: os.nice(self.nice),
                        )
                    )
            self.processes = [*self.servers, *self.task_worker_processes]
            for n, (port, server) in enumerate(zip(self.ports, self.servers, strict=True), 1):
                bench_load._wait_for_server(port, server, self.log(f"server-{n}"))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        for process in [*self.task_worker_processes, *self.servers]:
            bench_load._stop(process)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.folder.glob("*.log"))


class SpreadClient(bench_load.Client):
    """A reviewer's browser whose every new connection goes to the next server in turn."""

    def __init__(self, ports: list[int]):
        super().__init__(ports[0])
        self.ports = ports
        self.turn = 0

    async def request(self, method, path, form=None, headers=()):
        if self.writer is None:
            self.port = self.ports[self.turn % len(self.ports)]
            self.turn += 1
        return await super().request(method, path, form=form, headers=headers)


# ------------------------------------------------------------------------------------------------
# Part "demo": sessions across servers, each background task run once.


async def _log_in(client: bench_load.Client, username: str, password: str) -> None:
    page = await client.request("GET", "/accounts/login/")
    token = bench_load._TOKEN.search(page.body)
    form = {"username": username, "password": password, "csrfmiddlewaretoken": token.group(1)}
    done = await client.request("POST", "/accounts/login/", form=form)
    if done.status != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login of {username} on port {client.port}: HTTP {done.status}")


async def _sessions(a: int, b: int) -> dict:
    checks = {}
    client = bench_load.Client(a)
    await _log_in(client, *LEAD)
    client.port = b
    page = await client.request("GET", "/")
    checks["logged in on A, review list on B"] = (
        page.status == 200 and 'href="/reviews/demo/"' in page.body
    )
    client.port = a
    page = await client.request("GET", "/reviews/demo/")
    token = bench_load._TOKEN.search(page.body)
    client.port = b
    out = await client.request(
        "POST", "/accounts/logout/", form={"csrfmiddlewaretoken": token.group(1)}
    )
    checks["CSRF token of A accepted by a POST (log out) on B"] = out.status == 302
    client.port = a
    page = await client.request("GET", "/")
    checks["after logging out on B, A asks to log in"] = page.status == 302 and (
        "/accounts/login/" in page.headers.get("location", "")
    )
    return checks


async def _queue_exports(ports: list[int]) -> list[tuple[int, int]]:
    """TASKS exports asked for on alternating servers: [(job id, port that queued it)]."""
    client = bench_load.Client(ports[0])
    await _log_in(client, *LEAD)
    jobs = []
    for n in range(TASKS):
        client.port = ports[n % len(ports)]
        answer = await client.request("GET", "/reviews/demo/export/records.xlsx")
        job = _JOB.search(answer.headers.get("location", ""))
        if answer.status != 302 or job is None:
            raise RuntimeError(f"export {n}: HTTP {answer.status}, not queued")
        jobs.append((int(job.group(1)), client.port))
    return jobs


async def _download(ports: list[int], jobs: list[tuple[int, int]]) -> int:
    """Each finished workbook, downloaded from the server that did not queue it."""
    client = bench_load.Client(ports[0])
    await _log_in(client, *LEAD)
    good = 0
    for job, queued_on in jobs:
        client.port = next(p for p in ports if p != queued_on)
        answer = await client.request("GET", f"/reviews/demo/export/jobs/{job}/download/")
        # the body was read as text: a workbook is a ZIP, which begins with "PK"
        good += answer.status == 200 and answer.body.startswith("PK")
    return good


def part_demo(env: dict, folder: Path) -> dict:
    env = {**env, "EXPORT_INLINE_MAX_RECORDS": "0"}
    started = time.perf_counter()
    demo = _call(env, "setup-demo")
    setup_s = time.perf_counter() - started
    scratch = Path(tempfile.mkdtemp(prefix="demo-", dir=folder))
    # The workers at normal priority here: at nice 19 on a machine whose cores other processes
    # keep busy they got ~1% of a core and took minutes just to start.
    with Site(env, scratch, servers=2, workers=2, task_workers=2, nice=0) as site:
        a, b = site.ports
        sessions = asyncio.run(_sessions(a, b))
        started = time.perf_counter()
        jobs = asyncio.run(_queue_exports(site.ports))
        give_up = time.monotonic() + 600
        while time.monotonic() < give_up:
            state = _call(env, "jobs")
            if sum(state["jobs"].get(s, 0) for s in ("done", "failed")) >= len(jobs):
                break
            time.sleep(2)
        tasks_s = time.perf_counter() - started
        downloaded = asyncio.run(_download(site.ports, jobs))
    state = _call(env, "jobs")
    runs: Counter = Counter()
    by_worker: Counter = Counter()
    for n in (1, 2):
        for task_id, path in _RUNNING.findall(site.log(f"worker-{n}").read_text()):
            if not path.endswith("run_export"):
                continue  # the demo's ranking retrains
            runs[task_id] += 1
            by_worker[f"scale-worker-{n}"] += 1
    return {
        "setup": demo,
        "setup_s": setup_s,
        "sessions": sessions,
        "queued": len(jobs),
        "tasks": state["tasks"],
        "jobs": state["jobs"],
        "runs": runs,
        "by_worker": by_worker,
        "downloaded": downloaded,
        "tasks_s": tasks_s,
        "log_problems": bench_load._log_problems(site.log_text()),
    }


def report_demo(r: dict) -> bool:
    print()
    print(
        f"Demo site: {r['setup']['reviews']} reviews, {r['setup']['records']:,} records "
        f"(set-up {r['setup_s']:.0f} s); 2 gunicorns (-w 2 each), 2 db_workers, one PostgreSQL"
    )
    ok = True
    print()
    print("| check | result |")
    print("|---|---|")
    for name, passed in r["sessions"].items():
        print(f"| {name} | {'pass' if passed else 'FAIL'} |")
        ok &= passed
    tasks = r["tasks"]
    statuses = Counter(t["status"] for t in tasks)
    once_by_log = set(r["runs"]) == {t["id"] for t in tasks} and set(r["runs"].values()) == {1}
    once_by_row = all(len(t["workers"]) == 1 for t in tasks)
    took = Counter(w for t in tasks for w in t["workers"])
    both = len(took) == 2
    rows = [
        (
            f"{r['queued']} exports queued (alternating servers), task rows",
            len(tasks) == r["queued"],
        ),
        (
            f"task statuses {dict(statuses)}, jobs {r['jobs']}",
            statuses == {"SUCCESSFUL": len(tasks)},
        ),
        (
            "executions per task, from the workers' logs: "
            f"{dict(Counter(r['runs'].values()))} (executions: tasks)",
            once_by_log,
        ),
        ("one worker id per task row", once_by_row),
        (f"tasks per worker {dict(sorted(took.items()))}", both),
        (
            f"workbooks downloaded from the other server: {r['downloaded']} of {r['queued']}",
            r["downloaded"] == r["queued"],
        ),
    ]
    for name, passed in rows:
        print(f"| {name} | {'pass' if passed else 'FAIL'} |")
        ok &= passed
    problems = ", ".join(f"{k} ×{v}" for k, v in r["log_problems"].most_common()) or "clean"
    print(f"| servers' and workers' logs | {problems} |")
    print(f"\n{r['queued']} exports queued, run and finished in {r['tasks_s']:.1f} s")
    return ok


# ------------------------------------------------------------------------------------------------
# Part "load": bench_load on one server, then on two.


def _load_scenario(env: dict, folder: Path, pace: str, servers: int) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix=f"load-{servers}-{pace}-", dir=folder))
    started = time.perf_counter()
    setup = bench_load._call(env, "setup")
    setup_s = time.perf_counter() - started
    workers = bench_load.WORKERS // servers
    with Site(env, scratch, servers=servers, workers=workers, task_workers=servers) as site:

        def probe():
            pids = [p for s in site.servers for p in (s.pid, *bench_load._children(s.pid))]
            return {
                "client": time.process_time(),
                "server": sum(bench_load._ticks(p) for p in pids),
                "worker": sum(bench_load._ticks(w.pid) for w in site.task_worker_processes),
                "machine": bench_load._machine(),
                "wall": time.monotonic(),
            }

        sampler = bench_load.PgSampler(env["DATABASE_URL"])
        ports = site.ports
        stats, run = asyncio.run(
            bench_load._run_clients(ports[0], pace, probe, sampler, lambda _: SpreadClient(ports))
        )
    acked = scratch / "acked.json"
    acked.write_text(json.dumps(stats.acked))
    checks = bench_load._call(env, "verify", str(acked))
    where = f"{servers} × gunicorn -w {workers}, {servers} worker{'s' if servers > 1 else ''}"
    return {
        "database": where,
        "pace": pace,
        "setup": setup,
        "setup_s": setup_s,
        "stats": stats,
        "run": run,
        "checks": checks,
        "log_problems": bench_load._log_problems(site.log_text()),
        "pg": sampler,
    }


def part_load(env: dict, folder: Path) -> list[dict]:
    results = []
    for pace in PACES:
        for servers in (1, 2):
            started = time.perf_counter()
            results.append(_load_scenario(env, folder, pace, servers))
            s = results[-1]["stats"]
            print(
                f"load, {pace}, {servers} server(s): {s.accepted} accepted, {s.refused} refused, "
                f"{sum(s.errors.values())} errors; {time.perf_counter() - started:.0f} s",
                flush=True,
            )
    return results


def report_load(results: list[dict]) -> None:
    bench_load._report(results)
    by_pace: dict[str, list] = {}
    for r in results:
        s = r["stats"]
        attempts = s.accepted + s.refused + sum(s.errors.values())
        by_pace.setdefault(r["pace"], []).append(
            (r["database"], s.accepted / r["run"]["window_s"], 100 * s.accepted / max(1, attempts))
        )
    print()
    for r in results:
        # The machine is shared: what the servers got of it differs between runs, so compare
        # what an accepted decision cost them, not only the rate.
        cpu = bench_load._cpu(r["run"])
        seconds = cpu["gunicorn"] / 100 * r["run"]["window_s"]
        per = 1000 * seconds / max(1, r["stats"].accepted)
        print(
            f"{r['database']}, {r['pace']}: gunicorn CPU {seconds:.1f} s over the window, "
            f"{per:.0f} ms per accepted decision"
        )
    print()
    for pace, rows in by_pace.items():
        text = "; ".join(
            f"{name}: {rate:.2f} accepted/s, {share:.1f}%" for name, rate, share in rows
        )
        print(f"accepted-decision rate, {pace}: {text}")


def main() -> None:
    why_not = _postgres_answers(PG_URL)
    if why_not:
        print(f"skipped: the scale demo needs PostgreSQL ({why_not})")
        return
    unknown = [p for p in PARTS if p not in ("demo", "load")]
    unknown += [p for p in PACES if p not in ("realistic", "saturation")]
    if unknown:
        raise SystemExit(f"unknown part or pace: {unknown}")
    folder = Path(tempfile.mkdtemp(prefix="workbench-bench-scale-"))
    env = bench_load._environment(folder, PG_URL)
    load = os.getloadavg()
    print(
        f"{PG_URL}; parts {PARTS}; {os.cpu_count()} CPUs, load average before "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    load_results = None
    try:
        bench_load._call(env, "collectstatic")
        if "demo" in PARTS:
            demo = part_demo(env, folder)
            report_demo(demo)  # now: a failure in the load part must not lose it
        if "load" in PARTS:
            load_results = part_load(env, folder)
        if not os.environ.get("BENCH_SCALE_KEEP"):
            _call(env, "drop")
    finally:
        if os.environ.get("BENCH_SCALE_KEEP"):
            print(f"BENCH_SCALE_KEEP: logs stay in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    if load_results:
        report_load(load_results)


if __name__ == "__main__":
    _child(sys.argv[1:])
