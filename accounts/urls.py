from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("setup/", views.setup, name="setup"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/invitations/<str:token>/", views.invitation, name="invitation"),
    path("accounts/tokens/", views.tokens, name="tokens"),
    path("accounts/tokens/<int:pk>/revoke/", views.token_revoke, name="token-revoke"),
]
