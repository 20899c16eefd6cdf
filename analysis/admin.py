from django.contrib import admin

from analysis.models import (
    EffectData,
    ExtractionDraft,
    ExtractionEvent,
    Moderator,
    ModeratorValue,
    Outcome,
    RiskOfBias,
    Study,
    StudyEvent,
    StudyReport,
)
from screening.admin import ReadOnlyAdmin


class StudyReportInline(admin.TabularInline):
    model = StudyReport
    extra = 0
    raw_id_fields = ["record"]


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["label", "review", "created_at"]
    search_fields = ["label", "review__title"]
    inlines = [StudyReportInline]


@admin.register(StudyReport)
class StudyReportAdmin(admin.ModelAdmin):
    list_display = ["study", "record", "created_at"]
    raw_id_fields = ["study", "record"]


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = ["name", "review", "data_type", "measure", "method", "test", "level"]
    list_filter = ["data_type", "measure"]
    search_fields = ["name", "review__title"]


@admin.register(EffectData)
class EffectDataAdmin(admin.ModelAdmin):
    list_display = ["study", "outcome", "updated_by", "updated_at"]
    raw_id_fields = ["study", "outcome", "updated_by"]


@admin.register(Moderator)
class ModeratorAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "review"]


@admin.register(ModeratorValue)
class ModeratorValueAdmin(admin.ModelAdmin):
    list_display = ["study", "moderator", "value"]
    raw_id_fields = ["study", "moderator"]


@admin.register(RiskOfBias)
class RiskOfBiasAdmin(admin.ModelAdmin):
    list_display = ["study", "d1", "d2", "d3", "d4", "d5", "overall"]
    raw_id_fields = ["study", "updated_by"]


@admin.register(ExtractionEvent)
class ExtractionEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "review", "action", "study", "outcome", "user"]
    list_filter = ["action"]
    raw_id_fields = ["review", "study", "outcome", "user"]


@admin.register(ExtractionDraft)
class ExtractionDraftAdmin(admin.ModelAdmin):
    list_display = ["study", "outcome", "extractor", "updated_at"]
    raw_id_fields = ["study", "outcome", "extractor"]


@admin.register(StudyEvent)
class StudyEventAdmin(ReadOnlyAdmin):
    """The log of renamed, merged and deleted studies: written by analysis.studies only."""

    list_display = ["created_at", "review", "action", "label", "user"]
    list_filter = ["action"]
