from django.urls import path

from screening import views

app_name = "screening"

urlpatterns = [
    path("reviews/<slug:slug>/screen/<slug:stage>/", views.screen, name="screen"),
    path("reviews/<slug:slug>/screen/<slug:stage>/decide/", views.decide, name="decide"),
    path("reviews/<slug:slug>/screen/<slug:stage>/undo/", views.undo, name="undo"),
    path("reviews/<slug:slug>/conflicts/<slug:stage>/", views.conflicts, name="conflicts"),
    path(
        "reviews/<slug:slug>/conflicts/<slug:stage>/<int:record_id>/",
        views.resolve,
        name="resolve",
    ),
    path("reviews/<slug:slug>/retrieval/", views.retrieval, name="retrieval"),
    path(
        "reviews/<slug:slug>/retrieval/<int:record_id>/",
        views.retrieval_save,
        name="retrieval-save",
    ),
    path("reviews/<slug:slug>/agreement.csv", views.agreement_export, name="agreement-csv"),
    path("reviews/<slug:slug>/included/", views.inclusion, name="inclusion"),
    path(
        "reviews/<slug:slug>/included/<int:record_id>/",
        views.inclusion_link,
        name="inclusion-link",
    ),
]
