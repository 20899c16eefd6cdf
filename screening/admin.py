"""The screening models in the Django admin.

Votes, results and the audit trail are facts written only by the screening services: the admin
shows them read-only. Blind screening holds here too, for superusers as for anyone: nothing of a
stage that is blind in its review (votes, results, their events, a reviewer's own ranking) is
listed; a lead reads them in the app, where the blind rules apply.
"""

from django.contrib import admin
from django.db.models import Q

from screening.models import (
    BulkUpload,
    BulkUploadFile,
    CalibrationEvent,
    CalibrationRound,
    CalibrationSample,
    ExclusionReason,
    ExportJob,
    Prioritisation,
    RecordRank,
    Reopening,
    Retrieval,
    ReviewerRank,
    ReviewerRanking,
    ScreeningDecision,
    ScreeningEvent,
    ScreeningLease,
    StageEvent,
    StageResult,
)


def blind_stage() -> Q:
    """Rows (with a `stage` and a `review`) of a stage that is blind in their review."""
    return Q(
        stage="title_abstract",
        review__title_abstract_mode="dual",
        review__title_abstract_blind=True,
    ) | Q(stage="full_text", review__full_text_mode="dual", review__full_text_blind=True)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Facts the services write: listed and shown, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class BlindHiddenAdmin(ReadOnlyAdmin):
    def get_queryset(self, request):
        return super().get_queryset(request).exclude(blind_stage())


@admin.register(ExclusionReason)
class ExclusionReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "review", "position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label", "review__title"]


@admin.register(ScreeningDecision)
class ScreeningDecisionAdmin(BlindHiddenAdmin):
    list_display = [
        "record",
        "stage",
        "reviewer",
        "verdict",
        "reason",
        "created_at",
        "superseded_at",
    ]
    list_filter = ["stage", "verdict"]
    raw_id_fields = ["review", "record", "reviewer", "reason"]


@admin.register(StageResult)
class StageResultAdmin(BlindHiddenAdmin):
    list_display = ["record", "stage", "verdict", "method", "reason", "created_at", "superseded_at"]
    list_filter = ["stage", "verdict", "method"]
    raw_id_fields = ["review", "record", "decided_by", "reason"]


@admin.register(Retrieval)
class RetrievalAdmin(admin.ModelAdmin):
    list_display = ["record", "status", "updated_at"]
    list_filter = ["status"]
    raw_id_fields = ["review", "record", "updated_by"]


@admin.register(ScreeningEvent)
class ScreeningEventAdmin(BlindHiddenAdmin):
    list_display = ["record", "stage", "action", "user", "created_at"]
    list_filter = ["stage", "action"]
    raw_id_fields = ["review", "record", "user"]


class CalibrationSampleInline(admin.TabularInline):
    model = CalibrationSample
    extra = 0
    raw_id_fields = ["record"]


@admin.register(CalibrationRound)
class CalibrationRoundAdmin(admin.ModelAdmin):
    list_display = ["review", "stage", "reviewer_a", "reviewer_b", "created_at", "closed_at"]
    list_filter = ["stage"]
    raw_id_fields = ["review", "reviewer_a", "reviewer_b", "created_by", "closed_by"]
    inlines = [CalibrationSampleInline]


@admin.register(CalibrationSample)
class CalibrationSampleAdmin(admin.ModelAdmin):
    list_display = ["round", "record"]
    raw_id_fields = ["round", "record"]


@admin.register(CalibrationEvent)
class CalibrationEventAdmin(admin.ModelAdmin):
    list_display = ["round", "action", "user", "created_at"]
    list_filter = ["action"]
    raw_id_fields = ["round", "user"]


@admin.register(Prioritisation)
class PrioritisationAdmin(admin.ModelAdmin):
    list_display = [
        "review",
        "enabled",
        "trained",
        "labels_at_training",
        "trained_at",
        "stopped_at",
    ]
    raw_id_fields = ["review", "sampling_started_by", "stopped_by"]


@admin.register(RecordRank)
class RecordRankAdmin(admin.ModelAdmin):
    list_display = ["record", "review", "position", "score", "sampled"]
    raw_id_fields = ["record", "review"]


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ["review", "user", "layout", "status", "created_at", "finished_at"]
    list_filter = ["status"]
    raw_id_fields = ["review", "user"]


@admin.register(ScreeningLease)
class ScreeningLeaseAdmin(ReadOnlyAdmin):
    list_display = ["record", "stage", "reviewer", "served_at", "expires_at", "skipped"]
    list_filter = ["stage", "skipped"]
    raw_id_fields = ["review", "record", "reviewer"]


@admin.register(Reopening)
class ReopeningAdmin(ReadOnlyAdmin):
    list_display = ["record", "stage", "opened_by", "created_at", "closed_at"]
    list_filter = ["stage"]
    raw_id_fields = ["review", "record", "opened_by"]


@admin.register(StageEvent)
class StageEventAdmin(ReadOnlyAdmin):
    list_display = ["review", "stage", "action", "user", "created_at"]
    list_filter = ["stage", "action"]
    raw_id_fields = ["review", "user"]


@admin.register(ReviewerRanking)
class ReviewerRankingAdmin(ReadOnlyAdmin):
    list_display = ["review", "reviewer", "trained", "labels_at_training", "trained_at"]
    raw_id_fields = ["review", "reviewer"]


@admin.register(ReviewerRank)
class ReviewerRankAdmin(ReadOnlyAdmin):
    """A reviewer's own ranking is trained on their open votes: never listed while the stage
    is blind (it exists only then)."""

    list_display = ["record", "ranking", "position", "score"]
    raw_id_fields = ["record", "ranking"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .exclude(
                ranking__review__title_abstract_mode="dual",
                ranking__review__title_abstract_blind=True,
            )
        )


@admin.register(BulkUpload)
class BulkUploadAdmin(ReadOnlyAdmin):
    list_display = ["review", "created_by", "status", "attached", "created_at", "finished_at"]
    list_filter = ["status"]
    raw_id_fields = ["review", "created_by", "finished_by"]


@admin.register(BulkUploadFile)
class BulkUploadFileAdmin(ReadOnlyAdmin):
    list_display = ["filename", "upload", "record", "method", "score", "duplicate"]
    list_filter = ["method", "duplicate"]
    raw_id_fields = ["upload", "record"]
