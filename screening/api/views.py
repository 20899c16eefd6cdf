"""Read-only API for screening: current votes (blind rule applied) and settled stage results.

    GET /api/v1/reviews/<slug>/decisions/?stage=title_abstract&record=42
    GET /api/v1/reviews/<slug>/results/?stage=full_text&record=42

Both are paginated like every list of the API; `stage` and `record` are optional filters.
Votes come from `services.visible_decisions`, the rule the pages and the exports use: at a blind
stage a reviewer sees only their own votes, a lead also the votes of settled records and both
votes of a conflict. Results follow `review.access.results_visibility`: none of a stage that is
blind for the requester (nor the full-text results of database records while title/abstract
screening is).
"""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.exceptions import ValidationError

from review.access import abilities, results_visibility
from review.api.views import ReviewScopedViewSet
from review.params import id_param
from screening.api.serializers import DecisionSerializer, StageResultSerializer
from screening.models import Stage, StageResult
from screening.services import downstream_visible, visible_decisions


class _StageFilters:
    def stages(self) -> list[str]:
        stage = self.request.query_params.get("stage")
        if stage is None:
            return list(Stage.values)
        if stage not in Stage.values:
            raise ValidationError({"stage": [f"One of {', '.join(Stage.values)}."]})
        return [stage]

    def record_ids(self):
        record = self.request.query_params.get("record")
        if record is None:
            return self.review.records.values("pk")
        record_id = id_param(record)
        if record_id is None:
            raise ValidationError({"record": ["A record id."]})
        return [record_id]


STAGE_FILTERS = extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("stage", str, enum=Stage.values, description="Only this stage."),
            OpenApiParameter("record", int, description="Only this record (its id)."),
        ]
    )
)


@STAGE_FILTERS
class DecisionViewSet(_StageFilters, ReviewScopedViewSet):
    serializer_class = DecisionSerializer

    def get_queryset(self):
        resolver = abilities(self.request.user, self.review).can_manage
        record_ids = self.record_ids()
        votes = None
        for stage in self.stages():
            visible = visible_decisions(
                review=self.review,
                stage=stage,
                viewer=self.request.user,
                record_ids=record_ids,
                conflicts=resolver,
            )
            votes = visible if votes is None else votes | visible
        # "-stage": title_abstract sorts after full_text, so descending puts it first.
        return votes.order_by("record_id", "-stage", "created_at", "id")


@STAGE_FILTERS
class StageResultViewSet(_StageFilters, ReviewScopedViewSet):
    serializer_class = StageResultSerializer

    def get_queryset(self):
        visibility = results_visibility(self.request.user, self.review)
        stages = [stage for stage in self.stages() if visibility.stage(stage)]
        results = StageResult.objects.filter(
            review=self.review,
            stage__in=stages,
            record_id__in=self.record_ids(),
            superseded_at__isnull=True,
        )
        downstream = downstream_visible(self.review, self.request.user)
        if downstream:
            hidden = self.review.records.exclude(downstream).values("pk")
            results = results.exclude(stage=Stage.FULL_TEXT, record_id__in=hidden)
        return results.select_related("reason", "decided_by").order_by(
            "record_id", "-stage", "id"
        )
