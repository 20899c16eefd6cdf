import pytest
from django.contrib import admin
from django.urls import reverse

from screening.admin import ReadOnlyAdmin
from tests import factories

pytestmark = pytest.mark.django_db

OUR_APPS = {"review", "screening", "analysis", "accounts"}


def test_every_model_of_our_apps_is_in_the_admin():
    from django.apps import apps

    ours = {m for m in apps.get_models() if m._meta.app_label in OUR_APPS}
    assert ours and ours <= set(admin.site._registry)


@pytest.mark.parametrize(
    "model",
    [m for m in admin.site._registry if m._meta.app_label in OUR_APPS],
    ids=lambda m: m._meta.label,
)
def test_each_admin_list_and_add_page_renders(admin_client, model):
    factories.RecordFactory()
    meta = model._meta
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    assert admin_client.get(changelist).status_code == 200
    add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    # Facts written only by the services (votes, results, the audit trail) are read-only.
    read_only = isinstance(admin.site._registry[model], ReadOnlyAdmin)
    assert admin_client.get(add).status_code == (403 if read_only else 200)
