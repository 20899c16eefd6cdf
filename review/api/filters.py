"""Filters and pagination of the records list (`/api/v1/reviews/<slug>/records/`).

    ?q=memory&author=smith&year_min=2000&year_max=2010&source=3&stage=title_abstract&status=included

`stage` and `status` go together: the records whose current result at the stage is `included`
or `excluded`, or (`unsettled`) that have none and are still in the review (not a duplicate, not
removed). A stage whose results are blind for the requester (`review.access.results_visibility`)
cannot be filtered on: the answer would show its results.
"""

import json

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination

from review.access import results_visibility
from screening.models import Stage, StageResult

STATUSES = [
    ("included", "Settled as included at the stage"),
    ("excluded", "Settled as excluded at the stage"),
    ("unsettled", "Not settled at the stage (duplicates and removed records left out)"),
]


class IntegerFilter(django_filters.NumberFilter):
    """A whole number within bounds (a huge number is a 400, not an overflow in the database)."""

    field_class = forms.IntegerField


YEAR = {"min_value": 1, "max_value": 9999}


class RecordFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_text", label="Words in the title or the abstract (case-insensitive)."
    )
    author = django_filters.CharFilter(method="filter_author", label="Part of an author's name.")
    year_min = IntegerFilter(field_name="year", lookup_expr="gte", **YEAR)
    year_max = IntegerFilter(field_name="year", lookup_expr="lte", **YEAR)
    source = IntegerFilter(
        field_name="batch__source_id", label="A source's id.", min_value=1, max_value=2**63 - 1
    )
    stage = django_filters.ChoiceFilter(
        choices=Stage.choices, method="filter_nothing", label="The stage `status` refers to."
    )
    status = django_filters.ChoiceFilter(
        choices=STATUSES, method="filter_nothing", label="The records' status at `stage`."
    )

    def __init__(self, *args, review=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.review = review

    def filter_nothing(self, queryset, name, value):
        return queryset  # `stage` and `status` are applied together in filter_queryset

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(title__icontains=value) | Q(abstract__icontains=value))

    def filter_author(self, queryset, name, value):
        # Authors are a JSON list; SQLite stores non-ASCII names \u-escaped, so look for both.
        query = Q(authors__icontains=value)
        escaped = json.dumps(value)[1:-1]
        if escaped != value:
            query |= Q(authors__icontains=escaped)
        return queryset.filter(query)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        stage, status = self.form.cleaned_data.get("stage"), self.form.cleaned_data.get("status")
        if not stage and not status:
            return queryset
        if not stage:
            raise ValidationError({"stage": ["A stage is needed with status."]})
        if not status:
            raise ValidationError({"status": ["A status is needed with stage."]})
        visibility = results_visibility(self.request.user, self.review)
        if not visibility.whole_stage(stage):
            raise ValidationError(
                {"status": [f"The {stage} results are blind for you until a lead lifts it."]}
            )
        current = StageResult.objects.filter(
            record=OuterRef("pk"), stage=stage, superseded_at__isnull=True
        )
        if status == "unsettled":
            return queryset.retained().exclude(Exists(current))
        verdict = "include" if status == "included" else "exclude"
        return queryset.filter(Exists(current.filter(verdict=verdict)))


class ReviewFilterBackend(DjangoFilterBackend):
    """django-filter's backend, handing the view's review to the filter set."""

    def get_filterset_kwargs(self, request, queryset, view):
        return {**super().get_filterset_kwargs(request, queryset, view), "review": view.review}


class RecordCursorPagination(CursorPagination):
    """Pages of records in id order, each found through the index whatever its depth (no
    OFFSET, no COUNT): follow `next` until it is null."""

    ordering = "id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def paginate_queryset(self, queryset, request, view=None):
        if "page" in request.query_params:
            raise ValidationError(
                {"page": ["Records are paged by cursor: follow the `next` link (docs/api.md)."]}
            )
        return super().paginate_queryset(queryset, request, view)
