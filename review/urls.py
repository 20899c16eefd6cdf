from django.urls import path

from review import import_views, views

app_name = "review"

urlpatterns = [
    path("", views.review_list, name="list"),
    path("reviews/new/", views.review_create, name="create"),
    path("reviews/<slug:slug>/", views.review_dashboard, name="dashboard"),
    path("reviews/<slug:slug>/settings/", views.review_settings, name="settings"),
    path("reviews/<slug:slug>/sources/new/", views.source_create, name="source-create"),
    path("reviews/<slug:slug>/team/", views.team, name="team"),
    path("reviews/<slug:slug>/team/add/", views.member_add, name="member-add"),
    path("reviews/<slug:slug>/team/invite/", views.invite, name="invite"),
    path(
        "reviews/<slug:slug>/team/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation-revoke",
    ),
    path("reviews/<slug:slug>/team/<int:member_id>/role/", views.member_role, name="member-role"),
    path(
        "reviews/<slug:slug>/team/<int:member_id>/resolver/",
        views.member_resolver,
        name="member-resolver",
    ),
    path(
        "reviews/<slug:slug>/team/<int:member_id>/remove/",
        views.member_remove,
        name="member-remove",
    ),
    path("reviews/<slug:slug>/imports/new/", import_views.import_create, name="import-create"),
    path(
        "reviews/<slug:slug>/imports/<int:batch_id>/",
        import_views.import_detail,
        name="import-detail",
    ),
    path(
        "reviews/<slug:slug>/imports/<int:batch_id>/cancel/",
        import_views.import_cancel,
        name="import-cancel",
    ),
    path(
        "reviews/<slug:slug>/imports/<int:batch_id>/retry/",
        import_views.import_retry,
        name="import-retry",
    ),
    path(
        "reviews/<slug:slug>/imports/<int:batch_id>/columns/",
        import_views.import_mapping,
        name="import-mapping",
    ),
    path("reviews/<slug:slug>/duplicates/", import_views.duplicates, name="duplicates"),
    path(
        "reviews/<slug:slug>/duplicates/group/<slug:action>/",
        import_views.duplicate_group_decide,
        name="duplicate-group-decide",
    ),
    path(
        "reviews/<slug:slug>/duplicates/<int:pair_id>/<slug:action>/",
        import_views.duplicate_decide,
        name="duplicate-decide",
    ),
]
