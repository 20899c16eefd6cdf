import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review import dedup, importers
from review.cells import safe_cell


class Command(BaseCommand):
    help = (
        "De-duplicate a search export without touching the database: writes record_id,cluster_id "
        "for every record (the cluster id is the id of the group's primary record)."
    )

    def add_arguments(self, parser):
        parser.add_argument("input", type=Path)
        parser.add_argument("--output", type=Path, required=True)
        parser.add_argument("--format", help="Skip detection: ris, bibtex, medline, csv, …")
        parser.add_argument(
            "--explain", action="store_true", help="Add why each record joined its cluster."
        )

    def handle(self, *, input, output, format, explain, **options):
        if not input.is_file():
            raise CommandError(f"{input}: no such file.")
        try:
            result = importers.parse(input.read_bytes(), input.name, format)
        except importers.ImportFileError as error:
            raise CommandError(str(error)) from error
        for problem in result.problems:
            self.stderr.write(f"{problem.severity}: {problem.message}")
        ids = [_record_id(r, n) for n, r in enumerate(result.records, start=1)]
        if len(set(ids)) != len(ids):
            raise CommandError(f"{input.name}: record ids are not unique.")
        records = [
            dedup.record_from_mapping(r.as_fields(), id=i)
            for i, r in zip(ids, result.records, strict=True)
        ]
        found = dedup.find_duplicates(records)
        cluster = {i: i for i in ids}
        cluster.update(found.primaries)
        why = {}
        for match in sorted(found.duplicates(), key=lambda m: -m.score):
            for member in (match.a, match.b):
                if cluster[member] != member:
                    why.setdefault(member, f"{match.a}~{match.b}: {match.reason}")
        with output.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["record_id", "cluster_id", *(["reason"] if explain else [])])
            for i in ids:
                row = [i, cluster[i], *([why.get(i, "")] if explain else [])]
                writer.writerow([safe_cell(cell) for cell in row])
        clusters = len(set(cluster.values()))
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(ids)} records in {clusters} clusters "
                f"({len(ids) - clusters} duplicates, {len(found.possible())} possible pairs) "
                f"written to {output}."
            )
        )


def _record_id(record, number: int):
    """A CSV's own id column (record_id or id) when it has one, else the entry's number."""
    raw = record.raw or {}
    for key in ("record_id", "id", "ID", "Id"):
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return str(number)
