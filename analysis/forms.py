from django import forms

from analysis.models import MEASURES_BY_TYPE, DataType, Moderator, ModeratorKind, Outcome
from analysis.report import METHODS
from review.models import DecimalSeparator


class OutcomeForm(forms.ModelForm):
    class Meta:
        model = Outcome
        fields = ["name", "data_type", "measure", "log_scale", "dual_extraction", "description"]
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
        return data


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

    @classmethod
    def initial_for(cls, outcome: Outcome) -> dict:
        return {
            "measure": outcome.measure,
            "method": outcome.method,
            "test": outcome.test,
            "level": outcome.level,
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
