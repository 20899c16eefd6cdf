from django.contrib import admin

from review.models import (
    DedupEvent,
    DuplicatePair,
    ImportBatch,
    Membership,
    Record,
    Review,
    Source,
)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "title_abstract_mode", "full_text_mode", "created_at"]
    search_fields = ["title", "slug", "protocol_registration"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["review", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["review__title", "user__username"]
    autocomplete_fields = ["review", "user"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "review", "arm", "date_searched"]
    list_filter = ["arm"]
    search_fields = ["name", "review__title"]


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "review",
        "source",
        "format",
        "record_count",
        "status",
        "created_at",
    ]
    list_filter = ["format", "status"]
    search_fields = ["filename", "sha256"]
    raw_id_fields = ["review", "source", "uploaded_by"]


@admin.register(Record)
class RecordAdmin(admin.ModelAdmin):
    list_display = ["title", "year", "doi", "pmid", "review", "duplicate_of", "removed_reason"]
    list_filter = ["removed_reason"]
    search_fields = ["title", "doi", "pmid"]
    raw_id_fields = ["review", "batch", "duplicate_of"]
    list_select_related = ["review", "duplicate_of"]
    show_full_result_count = False


@admin.register(DuplicatePair)
class DuplicatePairAdmin(admin.ModelAdmin):
    list_display = ["record_a", "record_b", "status", "score", "decided_by", "decided_at"]
    list_filter = ["status"]
    raw_id_fields = ["review", "record_a", "record_b", "decided_by"]


@admin.register(DedupEvent)
class DedupEventAdmin(admin.ModelAdmin):
    list_display = ["action", "review", "user", "pair", "record", "created_at"]
    list_filter = ["action"]
    raw_id_fields = ["review", "pair", "record", "user"]
