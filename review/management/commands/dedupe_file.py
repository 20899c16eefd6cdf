import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review import dedup, importers
from review.cells import safe_cell
from review.dedup.explain import describe_pair


class Command(BaseCommand):
    help = (
        "De-duplicate a search export without touching the database: writes "
        "record_id,cluster_id,line for every record (the cluster id is the id of the group's "
        "primary record). Record ids are the entries' numbers in the file (1, 2, …, counting "
        "entries left out for having no title) unless --id-column names a column or field."
    )

    def add_arguments(self, parser):
        parser.add_argument("input", type=Path)
        parser.add_argument("--output", type=Path, required=True)
        parser.add_argument("--format", help="Skip detection: ris, bibtex, medline, csv, …")
        parser.add_argument(
            "--id-column",
            metavar="NAME",
            help="Take each record's id from this column (CSV, Excel) or field (ID of BibTeX, "
            "a tag of RIS or Web of Science); ids must be unique and not empty.",
        )
        parser.add_argument(
            "--explain", action="store_true",
            help="Add why each record joined its cluster, in plain words.",
        )

    def handle(self, *, input, output, format, id_column, explain, **options):
        if not input.is_file():
            raise CommandError(f"{input}: no such file.")
        try:
            result = importers.parse(input.read_bytes(), input.name, format)
        except importers.ImportFileError as error:
            raise CommandError(str(error)) from error
        for problem in result.problems:
            self.stderr.write(f"{problem.severity}: {problem.message}")
        if id_column:
            ids = _named_ids(result, id_column, input.name)
        else:
            ids = [str(r.position) for r in result.records]
        records = [
            dedup.record_from_mapping(r.as_fields(), id=i)
            for i, r in zip(ids, result.records, strict=True)
        ]
        found = dedup.find_duplicates(records)
        cluster = {i: i for i in ids}
        cluster.update(found.primaries)
        why = {}
        by_id = dict(zip(ids, records, strict=True))
        for match in sorted(found.duplicates(), key=lambda m: -m.score):
            for member in (match.a, match.b):
                if cluster[member] != member and member not in why:
                    # in plain words, as the duplicates page says it
                    words = describe_pair(by_id[match.a], by_id[match.b])
                    why[member] = f"with {match.b if member == match.a else match.a}: " + (
                        "; ".join(words))
        partial = output.with_name(f".{output.name}.partial")
        with partial.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["record_id", "cluster_id", "line", *(["reason"] if explain else [])])
            for i, record in zip(ids, result.records, strict=True):
                row = [i, cluster[i], record.line, *([why.get(i, "")] if explain else [])]
                writer.writerow([safe_cell(cell) for cell in row])
        partial.replace(output)
        clusters = len(set(cluster.values()))
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(ids)} records in {clusters} clusters "
                f"({len(ids) - clusters} duplicates, {len(found.possible())} possible pairs) "
                f"written to {output}."
            )
        )


def _named_ids(result, column: str, filename: str) -> list[str]:
    """Each record's value of `column`; a missing column, an empty value or an id given twice
    is an error naming the file and the rows or lines."""
    unit = "row" if result.format in ("csv", "excel") else "line"
    known = set(result.headers or ())
    for record in result.records:
        known.update(record.raw or {})
    if column not in known:
        listing = ", ".join(sorted(known)[:30])
        raise CommandError(f"{filename}: no column {column!r} (found: {listing}).")
    ids: list[str] = []
    first: dict[str, object] = {}
    for record in result.records:
        value = (record.raw or {}).get(column)
        if isinstance(value, list):
            value = "; ".join(str(v) for v in value)
        value = str(value).strip() if value is not None else ""
        where = f"{unit} {record.line} (record {record.position})"
        if not value:
            raise CommandError(f"{filename}, {where}: the id column {column!r} is empty.")
        if value in first:
            earlier = first[value]
            raise CommandError(
                f"{filename}: the id {value!r} (column {column!r}) is given twice, at "
                f"{unit} {earlier.line} (record {earlier.position}) and {where}."
            )
        first[value] = record
        ids.append(value)
    return ids
