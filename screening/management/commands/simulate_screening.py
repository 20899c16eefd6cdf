"""``manage.py simulate_screening --data FILE.csv[.gz] --seed S [S ...] --output ORDER.csv
[--prior-included ID ...] [--prior-excluded ID ...] [--stop]``: replay prioritised screening
on a labelled file, without a review or the database (docs/ranking.md).

With several seeds, each seed starts from its own default priors, the file is vectorised once
for all of them (the features do not depend on the seed), and each order goes to
ORDER.seed<S>.csv."""

from __future__ import annotations

import csv
import gzip
import io
import statistics
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review.cells import safe_cell
from screening.ranking import (
    Ranker,
    RankerConfig,
    record_text,
    screening_metrics,
    simulate,
    simulate_stopping,
)

REQUIRED = ("id", "title", "abstract", "label_included")


def read_labelled(path: Path) -> tuple[list[str], list[str], list[int]]:
    """ids, texts and 0/1 labels of a CSV (gzip when the name ends in .gz)."""
    if not path.is_file():
        raise CommandError(f"{path}: no such file.")
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8-sig")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise CommandError(
            f"{path}: cannot read it as {'gzip' if path.suffix == '.gz' else 'a file'} ({exc})."
        ) from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    csv.field_size_limit(sys.maxsize)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise CommandError(
            f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(found: {', '.join(header) or 'no header'})."
        )
    reader.fieldnames = header
    ids, texts, labels, where = [], [], [], {}
    for line, row in enumerate(reader, start=2):
        rid = (row.get("id") or "").strip()
        if not rid:
            raise CommandError(f"{path}, line {line}: empty id.")
        if rid in where:
            raise CommandError(f"{path}, line {line}: id {rid} already on line {where[rid]}.")
        where[rid] = line
        value = (row.get("label_included") or "").strip()
        if value not in ("0", "1", "0.0", "1.0"):
            raise CommandError(
                f"{path}, line {line}: label_included must be 0 or 1, not {value!r}."
            )
        ids.append(rid)
        labels.append(int(float(value)))
        texts.append(record_text(row.get("title"), row.get("abstract"), row.get("keywords")))
    if not ids:
        raise CommandError(f"{path}: no records.")
    if not 0 < sum(labels) < len(labels):
        raise CommandError(
            f"{path}: label_included needs at least one 1 and one 0 to simulate screening."
        )
    return ids, texts, labels


class Command(BaseCommand):
    help = (
        "Replay prioritised screening on a labelled CSV (id, title, abstract, label_included) "
        "and write the order records would have been shown; prints WSS@95, records to 95% and "
        "100%, recall@10% and the time; with --stop, where the stopping rule would have stopped."
    )
    requires_system_checks = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument("--data", type=Path, required=True, help="FILE.csv or FILE.csv.gz")
        parser.add_argument(
            "--seed",
            type=int,
            nargs="+",
            default=[0],
            metavar="S",
            help="one seed, or several: one simulation per seed, each from its own default "
            "priors, the file vectorised once",
        )
        parser.add_argument("--output", type=Path, required=True, help="ORDER.csv (column id)")
        parser.add_argument("--prior-included", nargs="+", default=[], metavar="ID")
        parser.add_argument("--prior-excluded", nargs="+", default=[], metavar="ID")
        parser.add_argument(
            "--stop",
            action="store_true",
            help="also apply the stopping rule (recall ≥ 95%% with 95%% confidence)",
        )

    def handle(self, *, data, seed, output, prior_included, prior_excluded, stop, **options):
        ids, texts, labels = read_labelled(data)
        index = {rid: i for i, rid in enumerate(ids)}

        def indices(given, flag):
            out = []
            for rid in given:
                if rid not in index:
                    raise CommandError(f"{flag} {rid}: no record with that id in {data}.")
                out.append(index[rid])
            return out

        inc = indices(prior_included, "--prior-included")
        exc = indices(prior_excluded, "--prior-excluded")
        for i in inc:
            if labels[i] != 1:
                raise CommandError(f"--prior-included {ids[i]}: its label_included is 0.")
        for i in exc:
            if labels[i] != 0:
                raise CommandError(f"--prior-excluded {ids[i]}: its label_included is 1.")
        if len(set(inc + exc)) != len(inc + exc):
            raise CommandError("A prior record is given twice.")
        seeds = [seed] if isinstance(seed, int) else list(dict.fromkeys(seed))
        if len(seeds) > 1 and (inc or exc):
            raise CommandError(
                "Prior records can be given with one seed only; with several seeds each seed "
                "draws its own pair."
            )
        started = time.perf_counter()
        vectorised = Ranker(RankerConfig()).fit(texts, [None] * len(texts))
        vectorising = time.perf_counter() - started
        self.stdout.write(f"vectorised {len(texts)} records in {vectorising:.2f} s")
        wss = []
        for one in seeds:
            path = output if len(seeds) == 1 else output.with_suffix(f".seed{one}{output.suffix}")
            try:
                result = simulate(
                    texts, labels, prior_included=inc, prior_excluded=exc, seed=one,
                    ranker=vectorised,
                )  # fmt: skip
            except ValueError as exc_:
                raise CommandError(str(exc_)) from exc_
            wss.append(self.report(ids, result, one, path, stop))
        if len(seeds) > 1:
            sd = statistics.stdev(wss)
            self.stdout.write(
                f"mean WSS@95 over {len(seeds)} seeds: {statistics.fmean(wss):.3f} ± {sd:.3f} "
                f"(sd); total time {time.perf_counter() - started:.2f} s"
            )

    def report(self, ids, result, seed, output, stop) -> float:
        """Write one simulation's order and print its figures; its WSS@95."""
        try:
            with output.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(["id"])
                writer.writerows([safe_cell(ids[i])] for i in result.order)
        except OSError as exc_:
            raise CommandError(f"Cannot write {output}: {exc_.strerror}.") from exc_

        m = screening_metrics(result.labels_in_order)
        priors = ", ".join(ids[i] for i in result.order[: result.n_priors])
        self.stdout.write(
            f"{m['n_records']} records, {m['n_relevant']} relevant; priors {priors}; seed {seed}\n"
            f"WSS@95: {m['wss_95']:.3f}\n"
            f"records to 95% recall: {m['n_to_95']}\n"
            f"records to 100% recall: {m['n_to_100']}\n"
            f"recall@10%: {m['recall_at_10pct']:.3f}\n"
            f"time: {result.seconds:.2f} s ({result.n_fits} model fits)"
        )
        if stop:
            s = simulate_stopping(result.labels_in_order, seed=seed)
            if s.switched_at is None:
                self.stdout.write("stopping rule: never switched to random sampling; all screened")
            else:
                where = (
                    f"stopped after {s.screened} of {s.n_records} records"
                    if s.stopped_early
                    else f"could not stop before the end ({s.n_records} records)"
                )
                self.stdout.write(
                    f"stopping rule (recall ≥ 95% with 95% confidence): random sampling from "
                    f"record {s.switched_at + 1}; {where}; recall reached {s.recall:.3f} "
                    f"({s.relevant_found}/{s.n_relevant}); work saved {s.work_saved:.1%}"
                )
                if s.test is not None:
                    self.stdout.write(s.test.statement())
        self.stdout.write(
            self.style.SUCCESS(f"Order of {len(result.order)} records written to {output}.")
        )
        return m["wss_95"]
