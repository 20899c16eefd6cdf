from django import forms

from review.import_service import upload_too_large
from review.models import ImportFormat, Review, Role, Source
from review.services import DEFAULT_EXCLUSION_REASONS, RESERVED_SLUGS


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
    slug = forms.SlugField(
        label="Address",
        required=False,
        max_length=80,
        help_text="The review's web address: /reviews/<address>/. Left blank, it is made from "
        "the title. Old links to this review stop working when you change it: share the new "
        "address with the team.",
    )
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
            "slug",
            "question",
            "protocol_registration",
            "title_abstract_mode",
            "title_abstract_blind",
            "full_text_mode",
            "full_text_blind",
            "highlight_include",
            "highlight_exclude",
            "decimal_separator",
        ]
        widgets = {"question": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            active = self.instance.exclusion_reasons.filter(is_active=True)
            self.initial["exclusion_reasons"] = [r.label for r in active]
        else:
            self.initial["exclusion_reasons"] = list(DEFAULT_EXCLUSION_REASONS)

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if not slug:
            return self.instance.slug if self.instance.pk else ""  # kept, or made from the title
        if slug.isdigit():
            raise forms.ValidationError("An address cannot be only digits.")
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(f"“{slug}” is reserved; choose another address.")
        others = Review.objects.exclude(pk=self.instance.pk) if self.instance.pk else Review.objects
        if others.filter(slug=slug).exists():
            raise forms.ValidationError(f"Another review already has the address “{slug}”.")
        return slug


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


class ImportForm(forms.Form):
    source = forms.ModelChoiceField(queryset=None, help_text="Where these records came from.")
    file = forms.FileField(
        help_text="RIS, BibTeX, PubMed/MEDLINE (.nbib/.txt), PubMed XML, EndNote XML or tagged "
        "(.enw/.txt), Web of Science, ProQuest text, CSV/TSV or Excel."
    )
    format = forms.ChoiceField(
        choices=[("", "Detect from the file")]
        + [(v, label) for v, label in ImportFormat.choices if v != ImportFormat.MANUAL],
        required=False,
    )
    allow_same_file = forms.BooleanField(
        required=False, label="Import anyway if this exact file was imported before"
    )
    strict = forms.BooleanField(
        required=False,
        label="Refuse the file if a record has no title",
        help_text="Otherwise such a record is left out and the import says where it was.",
    )

    def __init__(self, *args, review: Review, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = review.sources.order_by("name")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        too_large = upload_too_large(upload.name, upload.size)
        if too_large:
            raise forms.ValidationError(too_large)
        return upload


MAPPABLE_FIELDS = [
    ("title", "Title"),
    ("abstract", "Abstract"),
    ("authors", "Authors"),
    ("year", "Year"),
    ("journal", "Journal"),
    ("volume", "Volume"),
    ("issue", "Issue"),
    ("pages", "Pages"),
    ("doi", "DOI"),
    ("pmid", "PubMed ID"),
    ("url", "URL"),
    ("keywords", "Keywords"),
    ("keywords_2", "More keywords (Scopus Index Keywords, Zotero Automatic Tags, Emtree terms)"),
    ("keywords_3", "More keywords (Emtree drug terms)"),
    ("extra", "Zotero's Extra (PubMed ID, DOI)"),
    ("language", "Language"),
]


class ColumnMappingForm(forms.Form):
    """One select per record field, offering the file's column headers."""

    def __init__(self, *args, headers: list[str], initial_mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— not in this file —")] + [(h, h) for h in headers]
        for name, label in MAPPABLE_FIELDS:
            self.fields[name] = forms.ChoiceField(
                label=label,
                choices=choices,
                required=name == "title",
                initial=initial_mapping.get(name, ""),
            )

    def mapping(self) -> dict[str, str]:
        """Every field's column; "" where the person chose "not in this file" (which then
        overrides the column guessed from the header)."""
        return {name: header or "" for name, header in self.cleaned_data.items()}
