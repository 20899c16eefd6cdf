from django.urls import path

from review.api import views

app_name = "api"

review_scoped = {"get": "list"}
review_item = {"get": "retrieve"}

urlpatterns = [
    path("reviews/", views.ReviewViewSet.as_view(review_scoped), name="review-list"),
    path("reviews/<slug:slug>/", views.ReviewViewSet.as_view(review_item), name="review-detail"),
    path(
        "reviews/<slug:review_slug>/sources/",
        views.SourceViewSet.as_view(review_scoped),
        name="source-list",
    ),
    path(
        "reviews/<slug:review_slug>/imports/",
        views.ImportBatchViewSet.as_view(review_scoped),
        name="import-list",
    ),
    path(
        "reviews/<slug:review_slug>/records/",
        views.RecordViewSet.as_view(review_scoped),
        name="record-list",
    ),
    path(
        "reviews/<slug:review_slug>/records/<int:pk>/",
        views.RecordViewSet.as_view(review_item),
        name="record-detail",
    ),
]
