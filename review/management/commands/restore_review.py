"""`python manage.py restore_review FILE [--slug NEW] [--owner USERNAME]`: restore one review.

All or nothing, with new ids, so a review can be restored into a site with other reviews, or as
a second copy (`--slug`). See `review/backup.py` and docs/operations.md.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review.backup import BackupError, restore_review


class Command(BaseCommand):
    help = "Restore a review from a backup_review file, as a new review (nothing if it fails)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="A file written by backup_review.")
        parser.add_argument("--slug", help="Restore under this slug (a copy beside the original).")
        parser.add_argument(
            "--owner", help="Make this account of this site a lead of the restored review."
        )

    def handle(self, *, file, slug, owner, **options):
        try:
            summary = restore_review(file, slug=slug, owner=owner)
        except BackupError as error:
            raise CommandError(str(error)) from error
        review = summary.review
        rows = sum(summary.counts.values())
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored “{review.title}” as /reviews/{review.slug}/: {rows:,} rows, "
                f"{summary.files} files."
            )
        )
        if summary.users_matched:
            self.stdout.write(
                "Matched to this site's accounts by username: " + ", ".join(summary.users_matched)
            )
        if summary.users_created:
            self.stdout.write(
                self.style.WARNING(
                    f"Created {len(summary.users_created)} account(s) that did not exist here, "
                    "inactive and without a usable password: "
                    + ", ".join(summary.users_created)
                    + ". An administrator activates them (Django admin, Users: tick Active) "
                    "before they can reset their password and log in."
                )
            )
        if summary.renamed_files:
            self.stdout.write(
                f"{len(summary.renamed_files)} file name(s) were taken here; those files were "
                "stored under new names (the rows follow)."
            )
        if summary.missing_files:
            self.stdout.write(
                f"{len(summary.missing_files)} file(s) were missing when the backup was made; "
                "their rows name no file."
            )
        if owner:
            self.stdout.write(f"{owner} is a lead of the restored review.")
