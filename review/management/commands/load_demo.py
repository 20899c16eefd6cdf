from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from analysis.demo import bcg_demo_load
from review.demo import DEMO_USERS, demo_load


class Command(BaseCommand):
    help = (
        "Create the demo users (lead, reviewer) and the demo review (slug 'demo') and replay the "
        "published review's decisions on part of its records; and the analysis demo (slug "
        "'bcg', metafor's dat.bcg); idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load the demo even though DEBUG is off (its passwords are public).",
        )
        parser.add_argument(
            "--migrate",
            action="store_true",
            help="Apply the database migrations first, in the same process (what `make run` does: "
            "one start-up instead of two).",
        )

    def handle(self, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "DEBUG is off: the demo users have published passwords. "
                "Pass --allow-production if you really want them on this site."
            )
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=options["verbosity"])
        result = demo_load()
        verb = "Created" if result.created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} the demo review “{result.review.title}” "
                f"(slug {result.review.slug}, {result.records} records)."
            )
        )
        done = result.replayed
        if done.any():
            self.stdout.write(
                "Replayed from the published review's labels: "
                f"{done.screened} records screened at title/abstract, {done.retrieved} full texts "
                f"retrieved, {done.assessed} reports assessed at full text, {done.linked} "
                "reports linked to studies."
            )
        else:
            self.stdout.write("The replay of the published review's decisions is up to date.")
        users = {
            name: (get_user_model().objects.get(username=name), role)
            for name, (_password, role) in DEMO_USERS.items()
        }
        bcg = bcg_demo_load(users)
        self.stdout.write(
            self.style.SUCCESS(
                f"Analysis demo: “{bcg.title}” (slug {bcg.slug}, {bcg.studies.count()} studies)."
            )
        )
        self.stdout.write("Log in with:")
        for username, password in result.users.items():
            self.stdout.write(f"  username {username:<9} password {password}")
