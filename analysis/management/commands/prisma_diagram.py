"""`python manage.py prisma_diagram REVIEW --format svg|png|pdf --output FILE [--dpi 300]`.

REVIEW is the review's id or slug. Writes the review's PRISMA 2020 flow diagram (the figure of
the diagram page, without links) to FILE; the format defaults to FILE's extension. Exits
non-zero naming the rule and its equation when the counts break a hard rule (no file is
written); soft failures and work still to do are printed as warnings.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis import prisma_diagram
from review.models import Review
from screening.prisma import prisma_counts


class Command(BaseCommand):
    help = "Write a review's PRISMA 2020 flow diagram as SVG, PNG or PDF."

    def add_arguments(self, parser):
        parser.add_argument("review", help="The review's id or slug (the demo's slug is 'demo').")
        parser.add_argument(
            "--format",
            choices=sorted(prisma_diagram.FORMATS),
            help="svg, png or pdf (default: the output file's extension).",
        )
        parser.add_argument("--output", "-o", required=True, help="The file to write.")
        parser.add_argument(
            "--dpi", type=int, default=300, help="PNG resolution (default 300; journals: 600)."
        )

    def handle(self, *args, **options):
        review = self._review(options["review"])
        output = Path(options["output"])
        fmt = options["format"] or output.suffix.lower().lstrip(".")
        if fmt not in prisma_diagram.FORMATS:
            raise CommandError(
                f"Cannot tell the format from {output.name!r}: give --format svg, png or pdf."
            )
        if not 30 <= options["dpi"] <= 1200:
            raise CommandError("--dpi must be between 30 and 1200.")
        counts = prisma_counts(review)
        try:
            warnings = prisma_diagram.check(counts)
            content, _type, _name = prisma_diagram.diagram_file(
                review, fmt, dpi=options["dpi"], counts=counts
            )
        except prisma_diagram.PrismaRuleError as error:
            raise CommandError(str(error)) from None
        for result in warnings:
            self.stderr.write(f"Warning: {result} Explain it in a note with the figure.")
        for result in counts.rules():
            if result.status == "in progress":
                self.stderr.write(f"Pending: {result}")
        try:
            output.write_bytes(content)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror or error}.") from None
        self.stdout.write(
            f"Wrote {output} ({fmt.upper()}, template {prisma_diagram.template_of(counts)}, "
            f"{len(content):,} bytes)."
        )

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
