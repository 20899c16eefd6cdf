from django.contrib import admin

from analysis.models import Study, StudyReport


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
