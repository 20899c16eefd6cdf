"""Load: 50 reviewers screening one dual blind review over HTTP: `make bench BENCH=load`.

    make bench BENCH=load                                   # PostgreSQL and SQLite, both paces
    BENCH_LOAD_DATABASES=sqlite BENCH_LOAD_PACES=realistic make bench BENCH=load
    BENCH_LOAD_SECONDS=20 .venv/bin/python -m bench load    # a quicker look

Loopback only and bounded in time: four scenarios (database x pace), each about BENCH_LOAD_SECONDS
plus 1-1.5 min (set-up ≈ 25 s; 50 logins ≈ 30-50 s, PBKDF2 at 0.5 s a password; checks): about
10 min in all on a 2-core machine. Each scenario starts from a fresh database (PostgreSQL: the
database named in BENCH_LOAD_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/bench_load,
dropped and created again, dropped at the end; SQLite: a new file in a temporary folder with the
project's options: WAL, busy_timeout 5 s, IMMEDIATE transactions), migrated, then filled with the
ORM: a lead, BENCH_LOAD_REVIEWERS (50) reviewers, one review with the defaults of
`review_create` (dual, blind title/abstract screening; prioritisation on), one database source
and BENCH_LOAD_RECORDS (20,000) records through `services.records_add`, with the real titles and
abstracts of ../shared/screening/*.csv.gz (the sets in name order, repeated until there are
enough: the second pass repeats titles; nothing is marked duplicate). The ranking is trained once
(`ranking_train`, what the worker does after an import) so screening starts on a ranked queue,
and on PostgreSQL the table is vacuumed and its statistics refreshed (`VACUUM ANALYZE`, what
autovacuum does within a minute of a bulk import; BENCH_LOAD_ANALYZE=0 skips it, to see a review
screened straight after import).

Server, as a team runs it: `gunicorn config.wsgi -w BENCH_LOAD_WORKERS (4)` (sync workers; they
close the connection after each response) on 127.0.0.1 with DEBUG off, SECURE_SSL_REDIRECT off,
and beside it one background worker (`nice -n 19 manage.py db_worker --queue-name '*'
--no-reload`, at a lower CPU priority than the web workers as the README runs it; it runs the
ranking's retrains that decisions queue; BENCH_LOAD_DB_WORKER=0 leaves it off). The
server's settings are config.settings with one change: STATIC_ROOT is a temporary folder (filled
by collectstatic once) because the production static storage needs its manifest to render any
page. Session and CSRF cookies are Secure when DEBUG is off; the client keeps and sends them
over plain HTTP anyway (a benchmark client, not a browser).

Client: one asyncio process (standard library only: raw HTTP/1.1 over asyncio streams), one task
per reviewer with its own cookie jar. Each reviewer logs in through /accounts/login/ (username,
password, CSRF token), loads the screening page once (warm-up), then, for BENCH_LOAD_SECONDS
(60) from a common start, loops:

1. the card: a page load (GET of the screening page: "next card" latency) the first time and
   every BENCH_LOAD_RELOAD_EVERY (4) decisions, as a reviewer reloads or comes back; in between,
   the card the last decision's htmx response brought (as the page works: one request per
   decision). The card's record, `lease` and the decide form's CSRF token are read from it;
2. realistic pace: read for a uniform 2-5 s (plus a one-off uniform 0-5 s start offset so the
   50 do not move in lock step); saturation: no pause;
3. POST the decision to .../decide/ as htmx does (HX-Request: true): "decision" latency (the
   response is the next card). The verdict is random (80% exclude, 15% include, 5% maybe).
   Accepted vs refused: the `X-Screening-Outcome` header (recorded | refused) when present,
   else whether the card shows `<p class="error" role="alert">`. A 5xx, another status than 200
   without that header, a timeout or a dropped connection is an "error" (outcome unknown).
   BENCH_LOAD_RELOAD_EVERY=1 loads the page before every decision (twice the requests).

No step starts after the deadline; steps in flight finish and count. Latencies are wall-clock
from sending the request (connecting included) to the last byte of the response.

Reported per scenario: decisions attempted and accepted, accepted per second (over the window
from the common start until the last reviewer finished), refused share, errors, p50/p95/p99 of
the decision POST and of the next-card GET, and then, read from the database after the server
stopped: stored votes = acknowledged votes (the set of current title/abstract votes of the bench
reviewers equals the set of (reviewer, record) the client saw accepted; no vote was changed), no
record with more than two current votes, and `prisma_counts(review).check() == []`. Also CPU
shares over the window (client process, gunicorn master + workers, db_worker, whole machine: the
rest is PostgreSQL and whatever else runs), the ranking retrains the worker completed, and on
PostgreSQL, sampled once a second from pg_stat_activity, how many of the database's backends are
running a query and how many of those wait for a lock (and which kind).

Goals (the issue): at the realistic pace on PostgreSQL, >= 99% of decisions accepted and p95 of a
decision and of the next card under 300 ms; at saturation >= 99% accepted, throughput reported.
"""

import asyncio
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "screening"
SHARED_DEDUP = ROOT.parent / "shared" / "dedup"

SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
REVIEWERS = int(os.environ.get("BENCH_LOAD_REVIEWERS", "50"))
N_RECORDS = int(os.environ.get("BENCH_LOAD_RECORDS", "20000"))
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", "4"))
DB_WORKER = os.environ.get("BENCH_LOAD_DB_WORKER", "1") != "0"
DATABASES = os.environ.get("BENCH_LOAD_DATABASES", "postgresql sqlite").split()
PACES = os.environ.get("BENCH_LOAD_PACES", "realistic saturation").split()
PG_URL = os.environ.get("BENCH_LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_load")
SEED = int(os.environ.get("BENCH_LOAD_SEED", "1"))
ANALYZE = os.environ.get("BENCH_LOAD_ANALYZE", "1") != "0"
READ_SECONDS = (2.0, 5.0)
#: a page load (GET) every this many decisions; in between, the card the decision's htmx
#: response brought, as the page works (1: a page load before every decision)
RELOAD_EVERY = max(1, int(os.environ.get("BENCH_LOAD_RELOAD_EVERY", "4")))
REQUEST_TIMEOUT = 120.0
PASSWORD = "bench-load-Password-1"  # noqa: S105  (throw-away users of a throw-away database)
SLUG = "bench-load"
TA = "title_abstract"
PREFIX = "bench-reviewer-"
VERDICTS = (("exclude", 80), ("include", 15), ("maybe", 5))

_INPUT = re.compile(r"<input\b[^>]*>")
_VALUE = re.compile(r'\bvalue="([^"]*)"')
_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_ERROR = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)

# ------------------------------------------------------------------------------------------------
# The Django side: set-up, checks and clean-up, each run in a child process whose environment
# holds the scenario's DATABASE_URL (`python -m bench.bench_load setup|verify|drop|collectstatic`).


def _django():
    import django

    django.setup()


def _recreate_postgres() -> None:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')


def _entries(n: int):
    """n record entries from the shared screening sets, in file-name order, repeated if needed."""
    import csv
    import gzip

    # The labelled de-duplication sets have the same columns: the fallback where the screening
    # sets are not installed (the records' text only matters for the ranking's features).
    files = sorted(SHARED.glob("*.csv.gz")) or sorted(SHARED_DEDUP.glob("*.csv.gz"))
    if not files:
        raise SystemExit(f"No screening sets in {SHARED} (nor {SHARED_DEDUP}).")
    made = 0
    while True:
        for path in files:
            with gzip.open(path, "rt", newline="", encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    title = (row.get("title") or "").strip()
                    if not title:
                        continue
                    entry = {
                        "title": title,
                        "abstract": (row.get("abstract") or "").strip(),
                        "doi": (row.get("doi") or "").strip()[:255],
                    }
                    try:
                        year = int(float(row.get("year") or ""))
                    except ValueError:
                        year = None
                    if year and 1000 <= year <= 2999:
                        entry["year"] = year
                    if row.get("authors"):
                        entry["authors"] = [row["authors"].strip()[:500]]
                    yield entry
                    made += 1
                    if made >= n:
                        return


def _setup() -> dict:
    from django.conf import settings
    from django.db import connection

    timings = {}
    started = time.perf_counter()
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        _recreate_postgres()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    timings["migrate"] = time.perf_counter() - started

    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    from review import services
    from review.models import Membership, Role
    from screening.prioritisation import ranking_train

    started = time.perf_counter()
    User = get_user_model()
    password = make_password(PASSWORD)  # hashed once: PBKDF2 costs ~0.5 s a user
    lead = User.objects.create(username="bench-lead", password=password)
    reviewers = User.objects.bulk_create(
        [User(username=f"{PREFIX}{i:02d}", password=password) for i in range(REVIEWERS)]
    )
    review = services.review_create(title="Bench load (dual blind)", slug=SLUG, lead=lead)
    Membership.objects.bulk_create(
        [Membership(review=review, user=user, role=Role.REVIEWER) for user in reviewers]
    )
    source = services.source_create(review=review, name="MEDLINE", arm="database")
    services.records_add(
        review=review, source=source, entries=_entries(N_RECORDS), filename="bench-load.csv"
    )
    timings["records"] = time.perf_counter() - started
    started = time.perf_counter()
    trained = ranking_train(review)
    timings["ranking"] = time.perf_counter() - started
    if ANALYZE and connection.vendor == "postgresql":
        # What autovacuum does within a minute or so of the import and the first training (the
        # app refreshes the records' statistics itself, not the 20,000 new RecordRank rows'):
        # without it the ranked queue's query took 89 ms instead of 1.4 ms on an idle machine.
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        timings["analyze"] = time.perf_counter() - started
    return {
        "database": f"{connection.vendor} ({connection.settings_dict['NAME']})",
        "mode": f"{review.title_abstract_mode}, blind={review.title_abstract_blind}",
        "records": review.records.count(),
        "ranked_by_model": trained.trained,
        "timings": timings,
    }


def _verify(acked_path: str) -> dict:
    from django.db.models import Count
    from django_tasks_db.models import DBTaskResult

    from review.models import Review
    from screening.models import ScreeningDecision
    from screening.prisma import prisma_counts

    review = Review.objects.get(slug=SLUG)
    acked = {tuple(pair) for pair in json.loads(Path(acked_path).read_text())}
    votes = ScreeningDecision.objects.filter(
        review=review, stage=TA, reviewer__username__startswith=PREFIX
    )
    stored = set(
        votes.filter(superseded_at__isnull=True).values_list("reviewer__username", "record_id")
    )
    over_two = (
        ScreeningDecision.objects.filter(review=review, stage=TA, superseded_at__isnull=True)
        .values("record")
        .annotate(n=Count("pk"))
        .filter(n__gt=2)
        .count()
    )
    failures = prisma_counts(review).check()
    tasks = Counter(
        DBTaskResult.objects.filter(task_path__contains="retrain_").values_list("status", flat=True)
    )
    return {
        "acked": len(acked),
        "stored": len(stored),
        "stored_not_acked": len(stored - acked),
        "acked_not_stored": len(acked - stored),
        "changed": votes.filter(superseded_at__isnull=False).count(),
        "over_two": over_two,
        "prisma_failures": [f"{f.rule}: {f.message}" for f in failures],
        "retrains": dict(tasks),
    }


def _drop() -> None:
    from django.db import connection

    name = connection.settings_dict["NAME"]
    connection.close()
    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _child(argv: list[str]) -> None:
    _django()
    command = argv[0]
    if command == "setup":
        result = _setup()
    elif command == "verify":
        result = _verify(argv[1])
    elif command == "drop":
        _drop()
        result = {}
    elif command == "collectstatic":
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
        result = {}
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(result))


# ------------------------------------------------------------------------------------------------
# The client: raw HTTP/1.1 over asyncio streams, one cookie jar per reviewer.


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    ms: float


class Client:
    """One reviewer's browser: a cookie jar (Secure flag ignored) and a connection, reused only
    when the server keeps it open (gunicorn's sync workers close it after each response)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, form=None, headers=()) -> Response:
        body = urlencode(form).encode() if form is not None else b""
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{self.port}",
            "User-Agent: bench-load",
            "Accept: text/html",
            *headers,
        ]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if form is not None:
            lines.append("Content-Type: application/x-www-form-urlencoded")
            lines.append(f"Content-Length: {len(body)}")
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        for attempt in (1, 2):
            reused = self.writer is not None
            started = time.perf_counter()
            try:
                if not reused:
                    self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
                self.writer.write(raw)
                await self.writer.drain()
                status, headers_, data, close = await asyncio.wait_for(
                    self._read(), REQUEST_TIMEOUT
                )
            except (OSError, asyncio.IncompleteReadError) as error:
                self._close()
                # a kept-alive connection the server closed meanwhile: retry a GET, never a POST
                if reused and method == "GET" and attempt == 1:
                    continue
                raise ConnectionError(str(error)) from error
            except TimeoutError:
                self._close()
                raise
            ms = (time.perf_counter() - started) * 1000
            if close:
                self._close()
            return Response(status, headers_, data.decode("utf-8", "replace"), ms)
        raise AssertionError("unreachable")

    async def _read(self):
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").rstrip("\r\n").split("\r\n")
        version, status = status_line.split(" ", 2)[:2]
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                cookie = value.split(";", 1)[0]
                key, _, val = cookie.partition("=")
                if "max-age=0" in value.lower().replace(" ", ""):
                    self.cookies.pop(key.strip(), None)
                else:
                    self.cookies[key.strip()] = val.strip()
            headers[name] = value
        close = version == "HTTP/1.0" or headers.get("connection", "").lower() == "close"
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                if size == 0:
                    while (await self.reader.readline()) not in (b"\r\n", b""):
                        pass
                    break
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            data = b"".join(chunks)
        elif "content-length" in headers:
            data = await self.reader.readexactly(int(headers["content-length"]))
        elif int(status) in (204, 304) or int(status) < 200:
            data = b""
        else:
            data, close = await self.reader.read(), True
        return int(status), headers, data, close

    def _close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


@dataclass
class Stats:
    decision_ms: list[float] = field(default_factory=list)
    card_ms: list[float] = field(default_factory=list)
    accepted: int = 0
    refused: int = 0
    errors: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    card_errors: Counter = field(default_factory=Counter)
    empty_queue: int = 0
    acked: list[tuple[str, int]] = field(default_factory=list)
    header_seen: bool = False


async def _login(client: Client, username: str) -> None:
    page = await client.request("GET", "/accounts/login/")
    token = _TOKEN.search(page.body)
    if page.status != 200 or token is None:
        raise RuntimeError(f"login page: HTTP {page.status}")
    form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1)}
    done = await client.request("POST", "/accounts/login/", form=form)
    if done.status != 302 or "sessionid" not in client.cookies:
        raise RuntimeError(f"login of {username}: HTTP {done.status}")


def _hidden(form: str, name: str) -> str | None:
    """The value of the form's input named `name` (attributes in any order), None if absent."""
    for tag in _INPUT.findall(form):
        if f'name="{name}"' in tag:
            value = _VALUE.search(tag)
            return value.group(1) if value else ""
    return None


def _card(body: str) -> tuple[str | None, str | None, str | None]:
    """(record, lease, CSRF token) of the screening card's decide form; Nones without one."""
    form_at = body.find('id="decide-form"')
    if form_at < 0:
        return None, None, None
    form = body[form_at : body.find("</form>", form_at)]
    record = _hidden(form, "record")
    return (record or None), _hidden(form, "lease"), _hidden(form, "csrfmiddlewaretoken")


async def _reviewer(client, username, pace, start_at, deadline, stats: Stats, rng) -> None:
    screen = f"/reviews/{SLUG}/screen/{TA}/"
    decide = f"/reviews/{SLUG}/screen/{TA}/decide/"
    await asyncio.sleep(max(0.0, start_at - time.monotonic()))
    if pace == "realistic":
        await asyncio.sleep(rng.uniform(0, READ_SECONDS[1]))
    card = None  # the next card, as the decision's htmx response brought it
    steps = 0
    while time.monotonic() < deadline:
        if card is None or steps % RELOAD_EVERY == 0:
            # A page load: the first card, then every RELOAD_EVERY decisions (a reviewer who
            # reloads or comes back to the tab); "next card" latency.
            try:
                page = await client.request("GET", screen)
            except (ConnectionError, TimeoutError) as error:
                stats.card_errors[type(error).__name__] += 1
                await asyncio.sleep(0.5)
                continue
            if page.status != 200:
                stats.card_errors[f"HTTP {page.status}"] += 1
                await asyncio.sleep(0.5)
                continue
            stats.card_ms.append(page.ms)
            card = page.body
        steps += 1
        record, lease, token = _card(card)
        if record is None:
            stats.empty_queue += 1
            card = None
            await asyncio.sleep(1.0)
            continue
        if pace == "realistic":
            await asyncio.sleep(rng.uniform(*READ_SECONDS))
            if time.monotonic() >= deadline:
                break
        verdict = rng.choices([v for v, _ in VERDICTS], weights=[w for _, w in VERDICTS])[0]
        form = {"csrfmiddlewaretoken": token, "record": record, "verdict": verdict, "note": ""}
        if lease is not None:
            form["lease"] = lease
        try:
            answer = await client.request(
                "POST", decide, form=form, headers=("HX-Request: true", "HX-Target: screen-card")
            )
        except (ConnectionError, TimeoutError) as error:
            stats.errors[type(error).__name__] += 1
            card = None
            continue
        outcome = answer.headers.get("x-screening-outcome")
        if answer.status != 200 and (outcome is None or answer.status >= 500):
            stats.errors[f"HTTP {answer.status}"] += 1
            card = None
            continue
        stats.decision_ms.append(answer.ms)
        card = answer.body  # the next card, as the page swaps it in
        error = _ERROR.search(answer.body)
        if outcome is not None:
            stats.header_seen = True
            accepted = outcome == "recorded"
        else:
            accepted = error is None
        if accepted:
            stats.accepted += 1
            stats.acked.append((username, int(record)))
        else:
            stats.refused += 1
            stats.refusals[(error.group(1).strip() if error else outcome) or "?"] += 1


async def _run_clients(port: int, pace: str, probe, sampler, client=Client) -> tuple[Stats, dict]:
    """`client(port)` makes each reviewer's client (bench_scale passes one that spreads the
    requests over several servers)."""
    rng = random.Random(f"{SEED}-{pace}")
    names = [f"{PREFIX}{i:02d}" for i in range(REVIEWERS)]
    clients = [client(port) for _ in names]
    started = time.perf_counter()
    await asyncio.gather(*(_login(c, n) for c, n in zip(clients, names, strict=True)))
    login_s = time.perf_counter() - started
    warm = await asyncio.gather(
        *(c.request("GET", f"/reviews/{SLUG}/screen/{TA}/") for c in clients)
    )
    bad = [r.status for r in warm if r.status != 200 or _card(r.body)[0] is None]
    if bad:
        raise RuntimeError(f"warm-up: {len(bad)} reviewers got no card (HTTP {bad[:5]})")
    stats = Stats()
    before = probe()
    sampler.start()
    start_at = time.monotonic() + 0.2
    deadline = start_at + SECONDS
    await asyncio.gather(
        *(
            _reviewer(c, n, pace, start_at, deadline, stats, random.Random(rng.random()))
            for c, n in zip(clients, names, strict=True)
        )
    )
    window = time.monotonic() - start_at
    after = probe()
    sampler.stop()
    for client in clients:
        client._close()
    return stats, {"login_s": login_s, "window_s": window, "cpu": (before, after)}


class PgSampler:
    """Once a second, what the scenario database's backends are doing (pg_stat_activity): how
    many are running a query and how many of those wait for a lock, and on what. A diagnostic
    of where the time goes; a no-op on SQLite."""

    def __init__(self, url: str | None):
        self.url = url
        self.samples = 0
        self.active = 0
        self.waiting = 0
        self.waits: Counter = Counter()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.url:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        import psycopg

        name = urlsplit(self.url).path.strip("/")
        with psycopg.connect(self.url, autocommit=True) as connection:
            while not self._stop.wait(1.0):
                rows = connection.execute(
                    "SELECT wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()",
                    [name],
                ).fetchall()
                self.samples += 1
                self.active += len(rows)
                for kind, event in rows:
                    if kind == "Lock":
                        self.waiting += 1
                        self.waits[event] += 1

    def summary(self) -> str:
        if not self.samples:
            return "-"
        return f"{self.active / self.samples:.1f} / {self.waiting / self.samples:.1f}"


# ------------------------------------------------------------------------------------------------
# Processes and CPU accounting (Linux /proc).


def _ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(stat[1]) == pid:
                found.append(int(entry.name))
    return found


def _machine() -> tuple[int, int]:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _call(env: dict, *args: str) -> dict:
    done = subprocess.run(  # noqa: S603  (this interpreter, fixed arguments)
        [sys.executable, "-m", "bench.bench_load", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _wait_for_server(port: int, server: subprocess.Popen, log: Path) -> None:
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start in 60 s")


def _environment(folder: Path, url: str) -> dict:
    settings = folder / "bench_load_settings.py"
    if not settings.exists():
        settings.write_text(
            "from config.settings import *  # noqa: F403\n"
            f"STATIC_ROOT = {str(folder / 'static')!r}\n"
        )
    return {
        **os.environ,
        "DATABASE_URL": url,
        "DJANGO_SETTINGS_MODULE": "bench_load_settings",
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT)]),
        "DEBUG": "false",
        "SECRET_KEY": "bench-load-throw-away-key-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "MEDIA_ROOT": str(folder / "media"),
        "LOG_LEVEL": "WARNING",
    }


# ------------------------------------------------------------------------------------------------
# Orchestration and report.


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        v = values[0] if values else float("nan")
        return v, v, v
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def _scenario(folder: Path, database: str, pace: str) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix=f"{database}-{pace}-", dir=folder))
    url = PG_URL if database == "postgresql" else f"sqlite:///{scratch}/bench.sqlite3"
    env = _environment(folder, url)
    started = time.perf_counter()
    setup = _call(env, "setup")
    setup_s = time.perf_counter() - started
    port = _free_port()
    log = scratch / "gunicorn.log"
    server = worker = None
    try:
        with log.open("w") as log_file:
            server = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", "gunicorn", "config.wsgi", "-w", str(WORKERS),
                 "-b", f"127.0.0.1:{port}", "--error-logfile", "-"],
                cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            )  # fmt: skip
            if DB_WORKER:
                worker = subprocess.Popen(
                    # At a lower CPU priority than the web workers, as the README runs it.
                    [sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--no-reload"],
                    cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                    preexec_fn=lambda: os.nice(19),
                )  # fmt: skip
            _wait_for_server(port, server, log)

            def probe():
                pids = [server.pid, *_children(server.pid)]
                return {
                    "client": time.process_time(),
                    "server": sum(_ticks(p) for p in pids),
                    "worker": _ticks(worker.pid) if worker else 0,
                    "machine": _machine(),
                    "wall": time.monotonic(),
                }

            sampler = PgSampler(url if database == "postgresql" else None)
            stats, run = asyncio.run(_run_clients(port, pace, probe, sampler))
    finally:
        _stop(worker)
        _stop(server)
    acked_path = scratch / "acked.json"
    acked_path.write_text(json.dumps(stats.acked))
    checks = _call(env, "verify", str(acked_path))
    if database == "postgresql" and not os.environ.get("BENCH_LOAD_KEEP"):
        _call(env, "drop")
    log_text = log.read_text(errors="replace")
    return {
        "database": database,
        "pace": pace,
        "setup": setup,
        "setup_s": setup_s,
        "stats": stats,
        "run": run,
        "checks": checks,
        "log_problems": _log_problems(log_text),
        "pg": sampler,
    }


def _log_problems(text: str) -> Counter:
    """Counts of the notable lines in the server's and worker's log."""
    found: Counter = Counter()
    for line in text.splitlines():
        for needle in (
            "database is locked", "WORKER TIMEOUT", "Internal Server Error", "Traceback",
            "OperationalError", "Forbidden (CSRF", "deadlock detected",
        ):  # fmt: skip
            if needle in line:
                found[needle] += 1
    return found


def _cpu(run: dict) -> dict[str, float]:
    before, after = run["cpu"]
    wall = after["wall"] - before["wall"]
    tick = os.sysconf("SC_CLK_TCK")
    busy = after["machine"][0] - before["machine"][0]
    total = after["machine"][1] - before["machine"][1]
    return {
        "client": 100 * (after["client"] - before["client"]) / wall,
        "gunicorn": 100 * (after["server"] - before["server"]) / tick / wall,
        "db_worker": 100 * (after["worker"] - before["worker"]) / tick / wall,
        "machine": 100 * (os.cpu_count() or 1) * busy / total if total else float("nan"),
    }


def _report(results: list[dict]) -> None:
    print()
    print(
        "| database | pace | decisions | accepted | accepted/s | refused | errors "
        "| decision p50/p95/p99 ms | next card p50/p95/p99 ms "
        "| stored = acked | ≤ 2 votes | PRISMA |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|")
    for r in results:
        s, c, window = r["stats"], r["checks"], r["run"]["window_s"]
        errors = sum(s.errors.values())
        attempts = s.accepted + s.refused + errors
        refused = 100 * s.refused / attempts if attempts else float("nan")
        decision = "/".join(f"{v:.0f}" for v in _percentiles(s.decision_ms))
        card = "/".join(f"{v:.0f}" for v in _percentiles(s.card_ms))
        same = c["stored"] == s.accepted and not c["stored_not_acked"] and not c["acked_not_stored"]
        same_text = (
            "pass"
            if same and not c["changed"]
            else f"FAIL ({c['stored']} stored, {s.accepted} acked, {c['changed']} changed)"
        )
        over_two = "pass" if not c["over_two"] else f"FAIL ({c['over_two']} records)"
        prisma = "pass" if not c["prisma_failures"] else "FAIL"
        print(
            f"| {r['database']} | {r['pace']} | {attempts} | {s.accepted} "
            f"| {s.accepted / window:.2f} | {refused:.1f}% | {errors} | {decision} | {card} "
            f"| {same_text} | {over_two} | {prisma} |"
        )
    print()
    print(
        "| database | pace | set-up s | logins s | window s | cards | empty queue "
        "| CPU % client / gunicorn / db_worker / machine (of 100·cores) "
        "| PG backends active / waiting for a lock (mean) | retrains | server log |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---|---|---|")
    for r in results:
        s, run, cpu = r["stats"], r["run"], _cpu(r["run"])
        retrains = ", ".join(f"{k.lower()} {v}" for k, v in sorted(r["checks"]["retrains"].items()))
        problems = ", ".join(f"{k} ×{v}" for k, v in r["log_problems"].most_common()) or "clean"
        card_errors = sum(s.card_errors.values())
        print(
            f"| {r['database']} | {r['pace']} | {r['setup_s']:.0f} | {run['login_s']:.1f} "
            f"| {run['window_s']:.1f} | {len(s.card_ms)}"
            f"{f' (+{card_errors} failed)' if card_errors else ''} | {s.empty_queue} "
            f"| {cpu['client']:.0f} / {cpu['gunicorn']:.0f} / {cpu['db_worker']:.0f} "
            f"/ {cpu['machine']:.0f} | {r['pg'].summary()} | {retrains or 'none'} | {problems} |"
        )
    print()
    for r in results:
        s, c = r["stats"], r["checks"]
        label = f"{r['database']}, {r['pace']}"
        top = "; ".join(f"{n} × “{m}”" for m, n in s.refusals.most_common(3)) or "none"
        print(f"{label}: refusals: {top}")
        if s.errors:
            print(f"{label}: decision errors: {dict(s.errors)}")
        if s.card_errors:
            print(f"{label}: next-card errors: {dict(s.card_errors)}")
        if c["prisma_failures"]:
            print(f"{label}: PRISMA rules failing: {c['prisma_failures']}")
        if r["pg"].waits:
            waits = ", ".join(f"{k} {v / r['pg'].samples:.1f}" for k, v in r["pg"].waits.items())
            print(f"{label}: PostgreSQL lock waits (mean backends per sample): {waits}")
        print(
            f"{label}: outcome read from "
            f"{'X-Screening-Outcome' if s.header_seen else 'the card (no X-Screening-Outcome)'}"
        )
    _goals(results)


def _goals(results: list[dict]) -> None:
    print()
    for r in results:
        s = r["stats"]
        attempts = s.accepted + s.refused + sum(s.errors.values())
        share = 100 * s.accepted / attempts if attempts else 0.0
        verdicts = [f"accepted {share:.1f}% ({'ok' if share >= 99 else 'below'} the 99% goal)"]
        if r["pace"] == "realistic" and r["database"] == "postgresql":
            for name, values in (("decision", s.decision_ms), ("next card", s.card_ms)):
                p95 = _percentiles(values)[1]
                verdicts.append(f"p95 {name} {p95:.0f} ms ({'ok' if p95 < 300 else 'over'} 300)")
        print(f"goal, {r['database']} {r['pace']}: " + "; ".join(verdicts))


def main() -> None:
    unknown = [d for d in DATABASES if d not in ("postgresql", "sqlite")]
    unknown += [p for p in PACES if p not in ("realistic", "saturation")]
    if unknown:
        raise SystemExit(f"unknown database or pace: {unknown}")
    if "postgresql" in DATABASES and not urlsplit(PG_URL).path.strip("/"):
        raise SystemExit("BENCH_LOAD_DATABASE_URL must name a database")
    folder = Path(tempfile.mkdtemp(prefix="workbench-bench-load-"))
    if os.environ.get("BENCH_LOAD_KEEP"):
        print(f"BENCH_LOAD_KEEP: logs, acknowledged votes and SQLite files stay in {folder}")
    load = os.getloadavg()
    print(
        f"{REVIEWERS} reviewers, {N_RECORDS:,} records, dual blind; gunicorn -w {WORKERS} (sync), "
        f"db_worker {'on' if DB_WORKER else 'off'}; VACUUM ANALYZE after set-up (PostgreSQL) "
        f"{'on' if ANALYZE else 'off'}; {SECONDS:.0f} s per scenario; "
        f"{os.cpu_count()} CPUs, load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    results = []
    try:
        _call(_environment(folder, f"sqlite:///{folder}/static.sqlite3"), "collectstatic")
        for database in DATABASES:
            for pace in PACES:
                started = time.perf_counter()
                result = _scenario(folder, database, pace)
                results.append(result)
                s = result["stats"]
                print(
                    f"{database} {pace}: set-up {result['setup_s']:.0f} s "
                    f"({result['setup']['records']:,} records, "
                    f"{', '.join(f'{k} {v:.1f} s' for k, v in result['setup']['timings'].items())})"
                    f", {s.accepted} accepted, {s.refused} refused; "
                    f"{time.perf_counter() - started:.0f} s in all",
                    flush=True,
                )
    finally:
        if not os.environ.get("BENCH_LOAD_KEEP"):
            shutil.rmtree(folder, ignore_errors=True)
    _report(results)


if __name__ == "__main__":
    _child(sys.argv[1:])
