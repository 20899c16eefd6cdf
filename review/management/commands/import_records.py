import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from review.import_service import import_now
from review.models import Arm, ImportStatus, Review, Source


class Command(BaseCommand):
    help = "Import a search export into a review, with a progress bar (same checks as the page)."

    def add_arguments(self, parser):
        parser.add_argument("review", help="The review's slug or id.")
        parser.add_argument("file", type=Path)
        parser.add_argument("--source", required=True, help="The source's name (created if new).")
        parser.add_argument("--arm", choices=Arm.values, default=Arm.DATABASE,
                            help="PRISMA arm of a new source (default: database).")  # fmt: skip
        parser.add_argument("--format", help="Skip detection: ris, bibtex, medline, …")
        parser.add_argument("--column", action="append", default=[], metavar="FIELD=HEADER",
                            help="CSV/Excel: which column holds a field (repeatable).")  # fmt: skip
        parser.add_argument("--allow-same-file", action="store_true")
        parser.add_argument("--strict", action="store_true",
                            help="Refuse the whole file when a record has no title (by "
                            "default it is left out with a warning naming it).")  # fmt: skip

    def handle(
        self, *, review, file, source, arm, format, column, allow_same_file, strict, **options
    ):
        lookup = {"pk": int(review)} if review.isdigit() else {"slug": review}
        try:
            the_review = Review.objects.get(**lookup)
        except Review.DoesNotExist:
            raise CommandError(f"No review with the slug or id {review!r}.") from None
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        mapping = {}
        for item in column:
            field, sep, header = item.partition("=")
            if not sep:
                raise CommandError(f"--column {item!r}: write it as FIELD=HEADER.")
            mapping[field.strip()] = header.strip()
        the_source, created = Source.objects.get_or_create(
            review=the_review, name=source, defaults={"arm": arm}
        )
        if created:
            self.stderr.write(f"Created the source “{source}” ({arm}).")
        try:
            batch = import_now(
                review=the_review, source=the_source, filename=file.name,
                content=file.read_bytes(), format=format, column_mapping=mapping or None,
                allow_same_file=allow_same_file, progress=self._progress, strict=strict,
            )  # fmt: skip
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stderr.write("")
        if batch.status != ImportStatus.DONE:
            raise CommandError(f"Nothing was imported.\n{batch.error}")
        from review.import_service import import_summary

        summary = import_summary(batch)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {summary.records} records from {file.name} into “{the_review.slug}”: "
                f"{summary.duplicates} merged as duplicates, {summary.possible} possible "
                "duplicates to check."
            )
        )
        for problem in batch.problems:
            where = f"line {problem['line']}: " if problem.get("line") else ""
            self.stdout.write(f"  warning: {where}{problem['message']}")

    def _progress(self, phase: str, percent: int) -> None:
        if not sys.stderr.isatty():
            self.stderr.write(f"{percent:3d}% {phase}")
            return
        filled = percent * 30 // 100
        self.stderr.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {percent:3d}% {phase:<20}", ending=""
        )
