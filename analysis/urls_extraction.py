"""URLs of the extraction and analysis pages (included in analysis/urls.py)."""

from django.urls import path

from analysis import converter_views, study_views, views

urlpatterns = [
    path("reviews/<slug:slug>/extraction/", views.extraction_page, name="extraction"),
    path("reviews/<slug:slug>/extraction/outcomes/", views.outcome_create, name="outcome-create"),
    path(
        "reviews/<slug:slug>/extraction/moderators/",
        views.moderator_create,
        name="moderator-create",
    ),
    path("reviews/<slug:slug>/extraction/converters/", converter_views.page, name="converters"),
    path(
        "reviews/<slug:slug>/extraction/converters/<slug:name>/",
        converter_views.run,
        name="convert",
    ),
    path("reviews/<slug:slug>/extraction/sheet/", views.sheet_upload, name="sheet-upload"),
    path("reviews/<slug:slug>/extraction/sheet.csv", views.sheet_template, name="sheet-template"),
    path("reviews/<slug:slug>/export.zip", views.export_zip, name="export"),
    path("reviews/<slug:slug>/studies/<int:study_id>/", views.study_page, name="study"),
    path(
        "reviews/<slug:slug>/studies/<int:study_id>/rename/",
        study_views.study_rename,
        name="study-rename",
    ),
    path(
        "reviews/<slug:slug>/studies/<int:study_id>/merge/",
        study_views.study_merge,
        name="study-merge",
    ),
    path(
        "reviews/<slug:slug>/studies/<int:study_id>/delete/",
        study_views.study_delete,
        name="study-delete",
    ),
    path(
        "reviews/<slug:slug>/outcomes/<int:outcome_id>/data/",
        views.outcome_data,
        name="outcome-data",
    ),
    path(
        "reviews/<slug:slug>/outcomes/<int:outcome_id>/reconcile/",
        views.reconcile_page,
        name="reconcile",
    ),
    path(
        "reviews/<slug:slug>/outcomes/<int:outcome_id>/preview/",
        views.effect_preview,
        name="effect-preview",
    ),
    path(
        "reviews/<slug:slug>/outcomes/<int:outcome_id>/analysis/",
        views.analysis_page,
        name="analysis",
    ),
    path(
        "reviews/<slug:slug>/outcomes/<int:outcome_id>/analysis/save/",
        views.analysis_save,
        name="analysis-save",
    ),
    path(
        "reviews/<slug:slug>/outcomes/<int:outcome_id>/<str:kind>.<str:fmt>",
        views.plot_download,
        name="plot",
    ),
]
