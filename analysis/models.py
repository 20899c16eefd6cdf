"""Included studies and their reports (PRISMA: "studies included", "reports of included studies").

A study is the unit of analysis; a report is a record (a paper, a conference abstract, a
registry entry) that passed full-text eligibility. One study may have several reports.
Extraction and analyses (later issues) hang off `Study`.
"""

from django.db import models


class Study(models.Model):
    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="studies")
    label = models.CharField(max_length=200, help_text='How the study is cited, e.g. "Smith 2019".')
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["label"]
        verbose_name_plural = "studies"
        constraints = [
            models.UniqueConstraint(
                fields=["review", "label"], name="study_label_unique_in_review"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class StudyReport(models.Model):
    """Links an included report (a record) to the study it reports. A record reports one study."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="reports")
    record = models.OneToOneField(
        "review.Record", on_delete=models.PROTECT, related_name="study_report"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.study}: record {self.record_id}"
