"""`python manage.py prisma_counts REVIEW [--json | --csv] [--strict]`: every PRISMA 2020 count.

REVIEW is the review's id or slug. Prints the counts as a table (or JSON, or the PRISMA2020 R
package's CSV template) and the arithmetic checks; exits non-zero naming the rule ("H4 fails:
…") when a hard rule fails, or a soft one with --strict. Rules whose stage still has work to do
are reported "in progress", not failed (see screening/prisma.py).
"""

import json

from django.core.management.base import BaseCommand, CommandError

from review.models import Review
from screening.prisma import NO_REASON, PrismaCounts, prisma_counts, to_template_csv

#: (label, variable or None for a heading, indent)
ROWS = (
    ("Identification", None, 0),
    ("Records identified from databases", "database_results", 1),
    ("Records identified from registers", "register_results", 1),
    ("Records identified from websites", "website_results", 1),
    ("Records identified from organisations", "organisation_results", 1),
    ("Records identified from citation searching", "citations_results", 1),
    ("Duplicate records removed", "duplicates", 1),
    ("Records marked as ineligible by automation tools", "excluded_automatic", 1),
    ("Records removed for other reasons", "excluded_other", 1),
    ("Screening (databases and registers)", None, 0),
    ("Records screened", "records_screened", 1),
    ("Records excluded", "records_excluded", 1),
    ("by a human", "records_excluded_human", 2),
    ("by automation tools", "records_excluded_automation", 2),
    ("Reports sought for retrieval", "dbr_sought_reports", 1),
    ("Reports not retrieved", "dbr_notretrieved_reports", 1),
    ("Reports assessed for eligibility", "dbr_assessed", 1),
    ("Reports excluded", "dbr_excluded", 1),
    ("Other methods", None, 0),
    ("Duplicates among other-methods records", "other_duplicates", 1),
    ("Other-methods records removed", "other_removed", 1),
    ("Reports sought for retrieval", "other_sought_reports", 1),
    ("Reports not retrieved", "other_notretrieved_reports", 1),
    ("Reports assessed for eligibility", "other_assessed", 1),
    ("Reports excluded", "other_excluded", 1),
    ("Included", None, 0),
    ("Studies included in review", "new_studies", 1),
    ("Reports of included studies", "new_reports", 1),
)

PENDING = (
    ("Records awaiting title/abstract screening", "records"),
    ("Reports awaiting retrieval or assessment (databases and registers)", "dbr_reports"),
    ("Reports awaiting retrieval or assessment (other methods)", "other_reports"),
    ("Included reports not linked to a study", "study_links"),
)

SPECIFIC = {
    "database_results": "database_specific_results",
    "register_results": "register_specific_results",
}

WIDTH = 70


def _n(value) -> str:
    return "not done" if value is None else f"{value:,}"


def render_table(review: Review, counts: PrismaCounts) -> str:
    lines = [f"PRISMA 2020 counts: {review.title} ({review.slug})", ""]

    def line(label: str, value, indent: int) -> None:
        text = "  " * indent + label
        lines.append(f"{text:<{WIDTH}}{_n(value):>10}")

    for label, variable, indent in ROWS:
        if variable is None:
            if lines[-1]:
                lines.append("")
            lines.append(label)
            continue
        value = getattr(counts, variable)
        if variable.startswith("other_") and not counts.has_other_methods:
            if variable == "other_duplicates":
                lines.append("  (no other-methods source)")
            continue
        if isinstance(value, dict):
            line(label, sum(value.values()), indent)
            for reason, n in value.items():
                line(reason, n, indent + 1)
            continue
        line(label, value, indent)
        if variable in SPECIFIC:
            for name, n in getattr(counts, SPECIFIC[variable]).items():
                line(name, n, indent + 1)
    lines += ["", "Still to do"]
    for label, name in PENDING:
        value = getattr(counts.pending, name)
        if value is not None:
            line(label, value, 1)
    lines += ["", "Checks (PRISMA2020_FLOW.md §4)"]
    for result in counts.rules():
        lines.append(f"  {result}")
    return "\n".join(lines) + "\n"


class Command(BaseCommand):
    help = "Print every PRISMA 2020 count of a review and check its arithmetic."

    def add_arguments(self, parser):
        parser.add_argument("review", help="The review's id or slug (the demo's slug is 'demo').")
        output = parser.add_mutually_exclusive_group()
        output.add_argument(
            "--json", action="store_true", help="JSON: counts, still to do, checks."
        )
        output.add_argument(
            "--csv", action="store_true", help="The PRISMA2020 R package's CSV template."
        )
        parser.add_argument(
            "--strict", action="store_true", help="Exit non-zero on soft rules (S3) too."
        )

    def handle(self, *args, **options):
        review = self._review(options["review"])
        counts = prisma_counts(review)
        if options["json"]:
            data = counts.to_dict()
            payload = {
                "review": {"id": review.pk, "slug": review.slug, "title": review.title},
                "counts": {k: v for k, v in data.items() if k not in ("pending", "contradictions")},
                "pending": data["pending"],
                "contradictions": data["contradictions"],
                "no_reason_label": NO_REASON,
                "rules": [
                    {
                        "rule": r.rule,
                        "severity": r.severity,
                        "status": r.status,
                        "message": r.message,
                    }
                    for r in counts.rules()
                ],
            }
            self.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False))
        elif options["csv"]:
            self.stdout.write(to_template_csv(counts), ending="")
        else:
            self.stdout.write(render_table(review, counts), ending="")

        failures = counts.check()
        fatal = [f for f in failures if f.severity == "hard" or options["strict"]]
        for failure in failures:
            if failure not in fatal:
                self.stderr.write(f"Warning: {failure}")
        if fatal:
            raise CommandError("\n".join(str(f) for f in fatal))

    @staticmethod
    def _review(value: str) -> Review:
        review = None
        if value.isdigit():
            review = Review.objects.filter(pk=int(value)).first()
        if review is None:
            review = Review.objects.filter(slug=value).first()
        if review is None:
            raise CommandError(f"No review with id or slug {value!r}.")
        return review
