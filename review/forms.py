from django import forms

from review.models import Review, Role, Source
from review.services import DEFAULT_EXCLUSION_REASONS


class WordListField(forms.CharField):
    """A comma- or newline-separated list of words, stored as a JSON list."""

    def prepare_value(self, value):
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        words = [w.strip() for chunk in text.splitlines() for w in chunk.split(",")]
        return list(dict.fromkeys(w for w in words if w))


class LineListField(WordListField):
    """One item per line."""

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def to_python(self, value):
        text = forms.CharField.to_python(self, value) or ""
        return list(dict.fromkeys(line.strip() for line in text.splitlines() if line.strip()))


class ReviewForm(forms.ModelForm):
    highlight_include = WordListField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Comma-separated; highlighted in green while screening.",
    )
    highlight_exclude = WordListField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Comma-separated; highlighted in red while screening.",
    )
    exclusion_reasons = LineListField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="One per line, in the order reviewers pick them (keys 1–9). A reason removed "
        "here stays on the decisions that cite it.",
    )

    class Meta:
        model = Review
        fields = [
            "title",
            "question",
            "protocol_registration",
            "title_abstract_mode",
            "title_abstract_blind",
            "full_text_mode",
            "full_text_blind",
            "highlight_include",
            "highlight_exclude",
        ]
        widgets = {"question": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            active = self.instance.exclusion_reasons.filter(is_active=True)
            self.initial["exclusion_reasons"] = [r.label for r in active]
        else:
            self.initial["exclusion_reasons"] = list(DEFAULT_EXCLUSION_REASONS)


class SourceForm(forms.ModelForm):
    class Meta:
        model = Source
        fields = ["name", "arm", "date_searched", "search_string", "notes"]
        widgets = {
            "date_searched": forms.DateInput(attrs={"type": "date"}),
            "search_string": forms.Textarea(attrs={"rows": 4}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, review: Review, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.review = review

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if (
            self.instance.review.sources.filter(name__iexact=name)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            raise forms.ValidationError(f"This review already has a source named “{name}”.")
        return name


class MemberAddForm(forms.Form):
    username = forms.CharField(label="Username or e-mail", max_length=254)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.REVIEWER)


class MemberRoleForm(forms.Form):
    # A plain form: a ModelForm would write the new role onto the membership while
    # validating, before the service has checked that a lead remains.
    role = forms.ChoiceField(choices=Role.choices)
