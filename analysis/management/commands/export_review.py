"""``manage.py export_review REVIEW --output FILE.zip``: the finished meta-analysis as a ZIP
(data, results, plots, PRISMA diagram and counts, R and Python scripts; analysis/exports.py)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.exports import build_zip
from review.models import Review


class Command(BaseCommand):
    help = "Write a review's meta-analysis export (a ZIP) to a file."

    def add_arguments(self, parser):
        parser.add_argument("review", help="the review's slug or id")
        parser.add_argument("--output", type=Path, required=True, help="FILE.zip")

    def handle(self, *, review, output, **options):
        lookup = {"pk": int(review)} if review.isdigit() else {"slug": review}
        try:
            obj = Review.objects.get(**lookup)
        except Review.DoesNotExist:
            raise CommandError(f"No review {review!r} (give its slug or id).") from None
        body = build_zip(obj)
        try:
            output.write_bytes(body)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}.") from exc
        self.stdout.write(self.style.SUCCESS(f"Wrote {output} ({len(body):,} bytes)."))
