from django.urls import path, re_path

from analysis import prisma_views, urls_extraction

app_name = "analysis"

urlpatterns = [
    path("reviews/<slug:slug>/prisma/", prisma_views.page, name="prisma"),
    re_path(
        r"^reviews/(?P<slug>[-a-zA-Z0-9_]+)/prisma/diagram\.(?P<fmt>svg|png|pdf)$",
        prisma_views.diagram_download,
        name="prisma-diagram",
    ),
    path("reviews/<slug:slug>/prisma/counts.csv", prisma_views.counts_csv, name="prisma-csv"),
    # The extraction and analysis pages (analysis/urls_extraction.py), in the same namespace.
    *urls_extraction.urlpatterns,
]
