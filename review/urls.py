from django.urls import path

from review import views

app_name = "review"

urlpatterns = [
    path("", views.review_list, name="list"),
    path("reviews/new/", views.review_create, name="create"),
    path("reviews/<slug:slug>/", views.review_dashboard, name="dashboard"),
    path("reviews/<slug:slug>/settings/", views.review_settings, name="settings"),
    path("reviews/<slug:slug>/sources/new/", views.source_create, name="source-create"),
    path("reviews/<slug:slug>/team/", views.team, name="team"),
    path("reviews/<slug:slug>/team/add/", views.member_add, name="member-add"),
    path("reviews/<slug:slug>/team/<int:member_id>/role/", views.member_role, name="member-role"),
    path(
        "reviews/<slug:slug>/team/<int:member_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
]
