from django.contrib import admin

from screening.models import (
    CalibrationEvent,
    CalibrationRound,
    CalibrationSample,
    ExclusionReason,
    ExportJob,
    Prioritisation,
    RecordRank,
    Retrieval,
    ScreeningDecision,
    ScreeningEvent,
    StageResult,
)


@admin.register(ExclusionReason)
class ExclusionReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "review", "position", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["label", "review__title"]


@admin.register(ScreeningDecision)
class ScreeningDecisionAdmin(admin.ModelAdmin):
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
class StageResultAdmin(admin.ModelAdmin):
    list_display = ["record", "stage", "verdict", "method", "reason", "created_at", "superseded_at"]
    list_filter = ["stage", "verdict", "method"]
    raw_id_fields = ["review", "record", "decided_by", "reason"]


@admin.register(Retrieval)
class RetrievalAdmin(admin.ModelAdmin):
    list_display = ["record", "status", "updated_at"]
    list_filter = ["status"]
    raw_id_fields = ["review", "record", "updated_by"]


@admin.register(ScreeningEvent)
class ScreeningEventAdmin(admin.ModelAdmin):
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
