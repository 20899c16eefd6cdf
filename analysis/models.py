"""Included studies and their reports (PRISMA: "studies included", "reports of included studies").

A study is the unit of analysis; a report is a record (a paper, a conference abstract, a
registry entry) that passed full-text eligibility. One study may have several reports.
Extraction and analyses (later issues) hang off `Study`.
"""

from django.conf import settings
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


class DataType(models.TextChoices):
    """The form in which a study reports an outcome: it decides the fields extracted."""

    BINARY = "binary", "Events and totals in two groups (2×2)"
    CONTINUOUS = "continuous", "Means, SDs and ns in two groups"
    CORRELATION = "correlation", "Correlation and sample size"
    PROPORTION = "proportion", "Events and total in one group"
    GENERIC = "generic", "An effect with its standard error or CI"


#: per data type: the measures it can be analysed with (first: the default) and the fields a
#: study row holds (escalc's names; see analysis/report.py ESCALC_FIELDS)
MEASURES_BY_TYPE = {
    DataType.BINARY: ("RR", "OR", "RD"),
    DataType.CONTINUOUS: ("SMD", "MD"),
    DataType.CORRELATION: ("ZCOR", "COR"),
    DataType.PROPORTION: ("PLO", "PR"),
    DataType.GENERIC: ("GEN",),
}
FIELDS_BY_TYPE = {
    DataType.BINARY: ("ai", "n1i", "ci", "n2i"),
    DataType.CONTINUOUS: ("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i"),
    DataType.CORRELATION: ("ri", "ni"),
    DataType.PROPORTION: ("xi", "ni"),
    DataType.GENERIC: ("yi", "sei"),
}
MEASURE_LABELS = {
    "RR": "Risk ratio (log scale)",
    "OR": "Odds ratio (log scale)",
    "RD": "Risk difference",
    "SMD": "Standardised mean difference (Hedges' g)",
    "MD": "Mean difference",
    "ZCOR": "Correlation (Fisher's z)",
    "COR": "Correlation (raw r)",
    "PLO": "Proportion (logit)",
    "PR": "Proportion (raw)",
    "GEN": "Generic effect",
}


class Convention(models.TextChoices):
    """Whose defaults an analysis follows (analysis/report.py, docs/engine.md)."""

    METAFOR = "metafor", "As metafor (R)"
    META = "meta", "As meta (R)"
    REVMAN = "revman", "As RevMan Web"


class ZeroCells(models.TextChoices):
    """Where the continuity correction goes (metafor's escalc ``to``, meta's method.incr)."""

    ONLY0 = "only0", "Tables with a zero cell"
    IF0ALL = "if0all", "Every table, if one has a zero cell"
    ALL = "all", "Every table"
    NONE = "none", "None"


class DoubleZero(models.TextChoices):
    """Tables with no events (or only events) in both groups."""

    DEFAULT = "", "As the convention does"
    KEEP = "keep", "Keep (corrected)"
    DROP = "drop", "Leave out"


class Outcome(models.Model):
    """An outcome the review pools, with the analysis settings its page last used (the export
    reproduces them)."""

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="outcomes")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    data_type = models.CharField(max_length=20, choices=DataType.choices)
    measure = models.CharField(
        max_length=8, choices=[(m, MEASURE_LABELS[m]) for m in MEASURE_LABELS]
    )
    log_scale = models.BooleanField(
        default=False,
        help_text="Generic effects only: the effect is a log ratio (e.g. log hazard ratio), "
        "shown back-transformed.",
    )
    method = models.CharField(max_length=8, default="REML")
    test = models.CharField(
        max_length=4, default="z", choices=[("z", "z (normal)"), ("knha", "Hartung-Knapp")]
    )
    level = models.FloatField(default=95)
    convention = models.CharField(
        max_length=8,
        choices=Convention.choices,
        default=Convention.METAFOR,
        help_text="Whose defaults the analysis follows: study effects, common effect, "
        "prediction interval, I², trim and fill, small-study test.",
    )
    zero_add = models.FloatField(
        "Continuity correction",
        default=0.5,
        help_text="Added to the cells of 2×2 tables (and proportions) with a zero.",
    )
    zero_to = models.CharField(
        "Correction added to", max_length=8, choices=ZeroCells.choices, default=ZeroCells.ONLY0
    )
    double_zero = models.CharField(
        "Double-zero tables", max_length=4, choices=DoubleZero.choices, blank=True, default=""
    )
    dual_extraction = models.BooleanField(
        "Dual extraction",
        default=False,
        help_text="Two reviewers extract each study independently, without seeing each other's "
        "numbers; agreeing extractions are used as they are, differing ones are reconciled.",
    )
    subgroup_by = models.ForeignKey(
        "Moderator", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    regress_on = models.ForeignKey(
        "Moderator", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["review", "name"], name="outcome_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def fields(self) -> tuple[str, ...]:
        return FIELDS_BY_TYPE[self.data_type]

    @property
    def measures(self) -> tuple[str, ...]:
        return MEASURES_BY_TYPE[self.data_type]


class EffectData(models.Model):
    """What one study reports for one outcome: the input fields of its data type."""

    outcome = models.ForeignKey(Outcome, on_delete=models.CASCADE, related_name="data")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="effect_data")
    values = models.JSONField(help_text="The outcome's input fields, by escalc's names.")
    notes = models.TextField(blank=True, help_text="Where the numbers come from, conversions.")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["study__label"]
        constraints = [
            models.UniqueConstraint(fields=["outcome", "study"], name="effect_data_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.study} · {self.outcome}"


class ModeratorKind(models.TextChoices):
    CATEGORICAL = "categorical", "Categorical (subgroups)"
    NUMERIC = "numeric", "Numeric (meta-regression)"


class Moderator(models.Model):
    """A study characteristic used for subgroups (categorical) or meta-regression (numeric)."""

    review = models.ForeignKey("review.Review", on_delete=models.CASCADE, related_name="moderators")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=ModeratorKind.choices)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["review", "name"], name="moderator_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class ModeratorValue(models.Model):
    moderator = models.ForeignKey(Moderator, on_delete=models.CASCADE, related_name="values")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="moderator_values")
    value = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["moderator", "study"], name="moderator_value_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.study} · {self.moderator} = {self.value}"


class Judgement(models.TextChoices):
    LOW = "low", "Low"
    SOME = "some", "Some concerns"
    HIGH = "high", "High"


#: RoB 2 (Sterne et al. 2019, BMJ 366:l4898): the five domains
ROB2_DOMAINS = (
    ("d1", "Randomisation process"),
    ("d2", "Deviations from intended interventions"),
    ("d3", "Missing outcome data"),
    ("d4", "Measurement of the outcome"),
    ("d5", "Selection of the reported result"),
)


class RiskOfBias(models.Model):
    """A study's RoB 2 judgements: the five domains and the overall judgement."""

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="risk_of_bias")
    d1 = models.CharField(
        "Randomisation process", max_length=4, choices=Judgement.choices, blank=True
    )
    d2 = models.CharField(
        "Deviations from intended interventions",
        max_length=4,
        choices=Judgement.choices,
        blank=True,
    )
    d3 = models.CharField(
        "Missing outcome data", max_length=4, choices=Judgement.choices, blank=True
    )
    d4 = models.CharField(
        "Measurement of the outcome", max_length=4, choices=Judgement.choices, blank=True
    )
    d5 = models.CharField(
        "Selection of the reported result", max_length=4, choices=Judgement.choices, blank=True
    )
    overall = models.CharField(max_length=4, choices=Judgement.choices, blank=True)
    notes = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "risk-of-bias judgements"

    def __str__(self) -> str:
        return f"{self.study}: {self.get_overall_display() or 'not judged'}"

    def judgements(self) -> dict[str, str]:
        return {name: getattr(self, name) for name, _ in ROB2_DOMAINS} | {"overall": self.overall}


class ExtractionAction(models.TextChoices):
    DATA = "data", "Outcome data saved"
    DRAFT = "draft", "Independent extraction saved"
    MODERATOR = "moderator", "Moderator value saved"
    RISK_OF_BIAS = "rob", "Risk of bias saved"
    SHEET = "sheet", "Extraction sheet loaded"
    ANALYSIS = "analysis", "Analysis settings kept"


class ExtractionEvent(models.Model):
    """The append-only log of extraction: every change with what was there before and after, so
    that no extracted number is lost when someone overwrites it."""

    review = models.ForeignKey(
        "review.Review", on_delete=models.CASCADE, related_name="extraction_events"
    )
    action = models.CharField(max_length=12, choices=ExtractionAction.choices)
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    outcome = models.ForeignKey(
        Outcome, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["study", "created_at"], name="extraction_event_study")]

    def __str__(self) -> str:
        who = self.user or "—"
        return f"{self.get_action_display()} by {who} at {self.created_at:%Y-%m-%d %H:%M}"


class ExtractionDraft(models.Model):
    """One reviewer's independent extraction of a study's data for an outcome (dual extraction);
    the outcome's `EffectData` is made from two of them, when they agree or once reconciled."""

    outcome = models.ForeignKey(Outcome, on_delete=models.CASCADE, related_name="drafts")
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="drafts")
    extractor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    values = models.JSONField()
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["study__label", "updated_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["outcome", "study", "extractor"], name="extraction_draft_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.study} · {self.outcome} by {self.extractor}"


class StudyAction(models.TextChoices):
    RENAME = "rename", "Renamed"
    MERGE = "merge", "Merged another study into it"
    DELETE = "delete", "Deleted"


class StudyEvent(models.Model):
    """The append-only log of what a lead did to a review's studies (renamed, merged, deleted),
    with what was there before: `detail` keeps the labels, the values given up in a merge and
    the data deleted with a study."""

    review = models.ForeignKey(
        "review.Review", on_delete=models.CASCADE, related_name="study_events"
    )
    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.SET_NULL, related_name="study_events"
    )
    label = models.CharField(max_length=200, help_text="The study's label when it happened.")
    action = models.CharField(max_length=12, choices=StudyAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.label}: {self.get_action_display()} by {self.user or '—'}"
