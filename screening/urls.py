from django.urls import path

from screening import (
    calibration_views,
    fulltext_views,
    prioritisation_views,
    record_views,
    views,
)

app_name = "screening"

urlpatterns = [
    path(
        "reviews/<slug:slug>/export/jobs/<int:job_id>/",
        views.export_job,
        name="export-job",
    ),
    path(
        "reviews/<slug:slug>/export/jobs/<int:job_id>/download/",
        views.export_download,
        name="export-download",
    ),
    path("reviews/<slug:slug>/prioritisation/", prioritisation_views.page, name="prioritisation"),
    path(
        "reviews/<slug:slug>/prioritisation/settings/",
        prioritisation_views.update,
        name="prioritisation-update",
    ),
    path(
        "reviews/<slug:slug>/prioritisation/retrain/",
        prioritisation_views.retrain,
        name="prioritisation-retrain",
    ),
    path(
        "reviews/<slug:slug>/prioritisation/sample/",
        prioritisation_views.sample,
        name="prioritisation-sample",
    ),
    path(
        "reviews/<slug:slug>/prioritisation/stop/",
        prioritisation_views.stop,
        name="prioritisation-stop",
    ),
    path("reviews/<slug:slug>/records/", record_views.record_list, name="records"),
    path(
        "reviews/<slug:slug>/records/<int:record_id>/",
        record_views.record_detail,
        name="record",
    ),
    path(
        "reviews/<slug:slug>/records/<int:record_id>/reopen/<slug:stage>/",
        views.reopen,
        name="reopen",
    ),
    path(
        "reviews/<slug:slug>/conflicts/<slug:stage>/blinding/",
        views.blinding,
        name="blinding",
    ),
    path("reviews/<slug:slug>/screen/<slug:stage>/", views.screen, name="screen"),
    path("reviews/<slug:slug>/screen/<slug:stage>/decide/", views.decide, name="decide"),
    path("reviews/<slug:slug>/screen/<slug:stage>/undo/", views.undo, name="undo"),
    path("reviews/<slug:slug>/conflicts/<slug:stage>/", views.conflicts, name="conflicts"),
    path(
        "reviews/<slug:slug>/conflicts/<slug:stage>/<int:record_id>/",
        views.resolve,
        name="resolve",
    ),
    path(
        "reviews/<slug:slug>/calibration/<slug:stage>/",
        calibration_views.calibration_page,
        name="calibration",
    ),
    path(
        "reviews/<slug:slug>/calibration/<slug:stage>/start/",
        calibration_views.calibration_start,
        name="calibration-start",
    ),
    path(
        "reviews/<slug:slug>/calibration/<slug:stage>/<int:round_id>/close/",
        calibration_views.calibration_close,
        name="calibration-close",
    ),
    path("reviews/<slug:slug>/retrieval/", views.retrieval, name="retrieval"),
    path(
        "reviews/<slug:slug>/retrieval/<int:record_id>/",
        views.retrieval_save,
        name="retrieval-save",
    ),
    path(
        "reviews/<slug:slug>/retrieval/<int:record_id>/file/",
        fulltext_views.retrieval_file,
        name="retrieval-file",
    ),
    path("reviews/<slug:slug>/retrieval/bulk/", fulltext_views.bulk_upload, name="bulk-upload"),
    path(
        "reviews/<slug:slug>/retrieval/bulk/<int:upload_id>/",
        fulltext_views.bulk_report,
        name="bulk-report",
    ),
    path(
        "reviews/<slug:slug>/retrieval/bulk/<int:upload_id>/confirm/",
        fulltext_views.bulk_confirm,
        name="bulk-confirm",
    ),
    path(
        "reviews/<slug:slug>/retrieval/bulk/<int:upload_id>/discard/",
        fulltext_views.bulk_discard,
        name="bulk-discard",
    ),
    path("reviews/<slug:slug>/agreement.csv", views.agreement_export, name="agreement-csv"),
    path("reviews/<slug:slug>/export/records.csv", views.records_export_csv, name="records-csv"),
    path("reviews/<slug:slug>/export/records.xlsx", views.records_export_xlsx, name="records-xlsx"),
    path("reviews/<slug:slug>/included/", views.inclusion, name="inclusion"),
    path(
        "reviews/<slug:slug>/included/<int:record_id>/",
        views.inclusion_link,
        name="inclusion-link",
    ),
]
