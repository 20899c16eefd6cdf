from django import forms

from analysis.models import (
    MEASURES_BY_TYPE,
    Convention,
    DataType,
    DoubleZero,
    Moderator,
    ModeratorKind,
    Outcome,
    ZeroCells,
)
from analysis.report import CONVENTION_DEFAULTS, METHODS
from review.models import DecimalSeparator


class OutcomeForm(forms.ModelForm):
    class Meta:
        model = Outcome
        fields = [
            "name",
            "data_type",
            "measure",
            "log_scale",
            "convention",
            "dual_extraction",
            "description",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, **kwargs)
        self.review = review

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = Outcome.objects.filter(review=self.review, name__iexact=name)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(f"This review already has an outcome named “{name}”.")
        return name

    def clean(self):
        data = super().clean()
        data_type, measure = data.get("data_type"), data.get("measure")
        if data_type and measure and measure not in MEASURES_BY_TYPE[DataType(data_type)]:
            allowed = ", ".join(MEASURES_BY_TYPE[DataType(data_type)])
            self.add_error("measure", f"With this kind of data the measure is one of {allowed}.")
        if data.get("log_scale") and data_type != DataType.GENERIC:
            self.add_error("log_scale", "Only generic effects are entered as ratios.")
        if data.get("convention") == Convention.REVMAN and data_type == DataType.PROPORTION:
            self.add_error("convention", REVMAN_PROPORTIONS)
        return data

    def save(self, commit=True):
        outcome = super().save(commit=False)
        if not self.instance.pk or "convention" in self.changed_data:
            # the convention's defaults (RevMan Web: Hartung-Knapp)
            for name, value in CONVENTION_DEFAULTS[outcome.convention].items():
                setattr(outcome, name, value)
        if commit:
            outcome.save()
        return outcome


REVMAN_PROPORTIONS = (
    "RevMan Web does not pool single-group proportions; choose the metafor or meta convention."
)
#: the data types whose studies can have zero cells (the continuity correction applies)
ZERO_CELL_TYPES = (DataType.BINARY, DataType.PROPORTION)


class ModeratorForm(forms.ModelForm):
    class Meta:
        model = Moderator
        fields = ["name", "kind"]

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, **kwargs)
        self.review = review

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if ":" in name:
            raise forms.ValidationError("A moderator's name cannot contain “:”.")
        if Moderator.objects.filter(review=self.review, name__iexact=name).exists():
            raise forms.ValidationError(f"This review already has a moderator named “{name}”.")
        return name


class AnalysisForm(forms.Form):
    """The analysis page's settings (GET): what to compute, not stored until saved."""

    measure = forms.ChoiceField()
    method = forms.ChoiceField(
        label="τ² estimator",
        choices=[(m, m if m != "FE" else "FE (common effect)") for m in METHODS],
    )
    test = forms.ChoiceField(
        label="Test and CIs", choices=[("z", "z (normal)"), ("knha", "Hartung-Knapp")]
    )
    level = forms.FloatField(label="Confidence level (%)", min_value=50, max_value=99.9)
    convention = forms.ChoiceField(label="Conventions", choices=Convention.choices, required=False)
    previous_convention = forms.CharField(widget=forms.HiddenInput, required=False)
    zero_add = forms.FloatField(
        label="Continuity correction", min_value=0, max_value=10, required=False
    )
    zero_to = forms.ChoiceField(label="Added to", choices=ZeroCells.choices, required=False)
    double_zero = forms.ChoiceField(
        label="Double-zero tables", choices=DoubleZero.choices, required=False
    )
    scale = forms.ChoiceField(
        # natural: r, OR, RR, proportions; analysis: Fisher's z, log OR, log RR, log odds
        label="Scale",
        choices=[("natural", "natural"), ("analysis", "analysis")],
        required=False,
        initial="natural",
    )
    subgroup_by = forms.ModelChoiceField(queryset=None, required=False, label="Subgroups by")
    regress_on = forms.ModelChoiceField(queryset=None, required=False, label="Meta-regression on")

    def __init__(self, *args, outcome: Outcome, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["measure"].choices = [(m, m) for m in outcome.measures]
        moderators = Moderator.objects.filter(review_id=outcome.review_id)
        self.fields["subgroup_by"].queryset = moderators.filter(kind=ModeratorKind.CATEGORICAL)
        self.fields["regress_on"].queryset = moderators.filter(kind=ModeratorKind.NUMERIC)
        self.data_type = outcome.data_type
        self.outcome = outcome
        if outcome.data_type not in ZERO_CELL_TYPES:
            for name in ("zero_add", "zero_to", "double_zero"):
                del self.fields[name]
        elif outcome.data_type == DataType.PROPORTION:
            del self.fields["double_zero"]

    def clean(self):
        data = super().clean()
        for name in ("convention", "zero_add", "zero_to", "double_zero"):
            missing = name not in self.data or (
                name != "double_zero" and data.get(name) in (None, ""))
            if name in self.fields and missing:
                data[name] = getattr(self.outcome, name)  # not given: the outcome's own
        if (
            data.get("convention") == Convention.REVMAN
            and self.data_type == DataType.PROPORTION
        ):
            self.add_error("convention", REVMAN_PROPORTIONS)
        data["previous_convention"] = data.get("convention")
        return data

    @staticmethod
    def switch_convention(data):
        """A copy of the page's query `data` in which a newly chosen convention brings its
        defaults (RevMan Web: Hartung-Knapp), unless the user had changed them: the estimator
        and test are changed only where they were the previous convention's defaults."""
        new, old = data.get("convention"), data.get("previous_convention")
        if not new or not old or new == old or new not in CONVENTION_DEFAULTS:
            return data
        data = data.copy()
        before = CONVENTION_DEFAULTS.get(old, {})
        for name, value in CONVENTION_DEFAULTS[new].items():
            if data.get(name) == before.get(name):
                data[name] = value
        data["previous_convention"] = new
        return data

    @classmethod
    def initial_for(cls, outcome: Outcome) -> dict:
        return {
            "measure": outcome.measure,
            "method": outcome.method,
            "test": outcome.test,
            "level": outcome.level,
            "convention": outcome.convention,
            "previous_convention": outcome.convention,
            "zero_add": outcome.zero_add,
            "zero_to": outcome.zero_to,
            "double_zero": outcome.double_zero,
            "scale": "natural",
            "subgroup_by": outcome.subgroup_by_id,
            "regress_on": outcome.regress_on_id,
        }


class SheetForm(forms.Form):
    file = forms.FileField(help_text="CSV or Excel (.xlsx): one row per study and outcome.")
    decimal_separator = forms.ChoiceField(
        label="Decimal separator in this file",
        choices=DecimalSeparator.choices,
        required=False,
        help_text="How the numbers typed as text are written (Excel's numeric cells are read as "
        "they are). Defaults to the review's setting.",
    )

    def __init__(self, *args, review, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["decimal_separator"].initial = review.decimal_separator
