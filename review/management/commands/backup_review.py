"""`python manage.py backup_review SLUG --output FILE`: one review, its rows and files, in a ZIP.

See `review/backup.py` for what the file holds and docs/operations.md ("Backing up one review").
The file holds personal data (names, e-mail addresses, votes): keep it like the database.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review.backup import BackupError, backup_review
from review.models import Review


class Command(BaseCommand):
    help = "Back up one review (its database rows and its files) into one ZIP file."

    def add_arguments(self, parser):
        parser.add_argument("review", help="The review's slug or id.")
        parser.add_argument("--output", "-o", required=True, type=Path, help="The ZIP to write.")

    def handle(self, *, review, output, **options):
        lookup = {"pk": int(review)} if review.isdigit() and len(review) < 19 else {"slug": review}
        the_review = Review.objects.filter(**lookup).first()
        if the_review is None:
            raise CommandError(f"No review with the slug or id {review!r}.")
        if output.is_dir():
            raise CommandError(f"--output {output}: a folder; name the file to write.")
        if not output.parent.is_dir():
            raise CommandError(f"--output {output}: the folder {output.parent} does not exist.")
        try:
            summary = backup_review(the_review, output)
        except BackupError as error:
            raise CommandError(str(error)) from error
        rows = sum(summary.counts.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Backed up “{the_review.title}” ({the_review.slug}) to {output}: {rows:,} rows, "
                f"{summary.files} files, {len(summary.users)} accounts named, "
                f"{summary.size / 1e6:.1f} MB."
            )
        )
        for label, count in summary.counts.items():
            if count:
                self.stdout.write(f"  {label:<28} {count:>8,}")
        if summary.missing_files:
            self.stderr.write(
                f"{len(summary.missing_files)} file(s) named by rows were not in storage and are "
                "not in the backup (bulk uploads already confirmed or discarded have had their "
                "waiting copies deleted): " + ", ".join(summary.missing_files[:10])
            )
        self.stdout.write(
            "The file holds personal data (names, e-mail addresses, votes): keep it as safe as "
            "the database."
        )
