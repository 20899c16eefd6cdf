from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from review.demo import demo_load


class Command(BaseCommand):
    help = "Create the demo users (lead, reviewer) and the demo review (slug 'demo'); idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load the demo even though DEBUG is off (its passwords are public).",
        )

    def handle(self, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "DEBUG is off: the demo users have published passwords. "
                "Pass --allow-production if you really want them on this site."
            )
        result = demo_load()
        verb = "Created" if result.created else "Updated"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} the demo review “{result.review.title}” "
                f"(slug {result.review.slug}, {result.records} records)."
            )
        )
        self.stdout.write("Log in with:")
        for username, password in result.users.items():
            self.stdout.write(f"  username {username:<9} password {password}")
