from django.urls import path

from review.api import views
from screening.api import views as screening_views

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
    path(
        "reviews/<slug:review_slug>/decisions/",
        screening_views.DecisionViewSet.as_view(review_scoped),
        name="decision-list",
    ),
    path(
        "reviews/<slug:review_slug>/results/",
        screening_views.StageResultViewSet.as_view(review_scoped),
        name="result-list",
    ),
]
