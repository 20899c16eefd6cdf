"""Read-only JSON API. Every queryset starts from the requesting user's memberships; every
endpoint of one review loads it through review.access.review_for_user on each request."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets

from review import selectors
from review.access import review_for_user
from review.api.filters import RecordCursorPagination, RecordFilter, ReviewFilterBackend
from review.api.serializers import (
    ImportBatchSerializer,
    RecordSerializer,
    ReviewSerializer,
    SourceSerializer,
)
from review.models import Record


class ReviewViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ReviewSerializer
    lookup_field = "slug"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # One review: loaded through the access module on every request (404 for a
        # non-member, whatever the method), like every endpoint inside a review.
        if "slug" in kwargs:
            self.review = review_for_user(request.user, kwargs["slug"], need="view")

    def get_queryset(self):
        return selectors.reviews_for_user(self.request.user).order_by("-created_at")

    def get_object(self):
        return self.review


class ReviewScopedViewSet(viewsets.ReadOnlyModelViewSet):
    """Base for resources inside one review: loads it (404 for non-members) before anything."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.review = review_for_user(request.user, kwargs["review_slug"], need="view")


class SourceViewSet(ReviewScopedViewSet):
    serializer_class = SourceSerializer

    def get_queryset(self):
        return self.review.sources.order_by("name")


class ImportBatchViewSet(ReviewScopedViewSet):
    serializer_class = ImportBatchSerializer

    def get_queryset(self):
        return self.review.imports.order_by("created_at")


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "page_size", int, description="Records per page (default 100, at most 1000)."
            )
        ]
    )
)
class RecordViewSet(ReviewScopedViewSet):
    serializer_class = RecordSerializer
    filter_backends = [ReviewFilterBackend]
    filterset_class = RecordFilter
    pagination_class = RecordCursorPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no review
            return Record.objects.none()
        return self.review.records.select_related("batch").order_by("id")
