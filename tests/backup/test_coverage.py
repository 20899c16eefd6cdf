"""Nothing of a review is forgotten by its backup: every model linked to a review is backed up
or excluded with a reason, and every JSON field is either remapped or declared to hold no ids."""

from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from review.backup import (
    EXCLUDED,
    JSON_ID_KEYS,
    JSON_IDS,
    JSON_WITHOUT_IDS,
    backup_models,
    owner_paths,
    uncovered_models,
)
from review.models import Record, Review


def test_every_model_linked_to_a_review_is_backed_up_or_excluded():
    assert uncovered_models() == []


def test_the_excluded_models_exist_and_say_why():
    labels = {m._meta.label_lower for m in apps.get_models()}
    assert set(EXCLUDED) <= labels
    assert all(len(why) > 40 for why in EXCLUDED.values())


def test_the_review_comes_first_and_every_row_after_what_it_points_to():
    ordered = backup_models()
    assert ordered[0] is Review
    seen = set()
    for model in ordered:
        for f in model._meta.concrete_fields:
            if (f.many_to_one or f.one_to_one) and f.related_model in ordered:
                assert f.related_model in seen or f.related_model is model, (model, f.name)
        seen.add(model)


@isolate_apps("review")
def test_a_new_model_with_a_foreign_key_path_is_backed_up_without_being_listed():
    class Note(models.Model):  # noqa: DJ008
        record = models.ForeignKey(Record, on_delete=models.CASCADE)

        class Meta:
            app_label = "review"

    paths = owner_paths([*apps.get_models(include_auto_created=True), Note])
    assert paths[Note] == "record__review"


@isolate_apps("review")
def test_a_model_linked_only_by_many_to_many_is_named_by_the_check():
    """The failure the first test would show for such a model: the backup would miss it."""

    class Tag(models.Model):  # noqa: DJ008
        name = models.CharField(max_length=10)
        records = models.ManyToManyField(Record, related_name="+")

        class Meta:
            app_label = "review"

    all_models = [*apps.get_models(include_auto_created=True), Tag, Tag.records.through]
    assert uncovered_models(all_models) == ["review.tag"]


def test_every_json_field_is_remapped_or_declared_without_ids():
    found = {
        (m._meta.label_lower, f.name)
        for m in backup_models()
        for f in m._meta.concrete_fields
        if isinstance(f, models.JSONField)
    }
    declared = {(label, name) for label, names in JSON_WITHOUT_IDS.items() for name in names}
    remapped = {(label, name) for label, fields in JSON_IDS.items() for name in fields}
    assert not declared & remapped
    assert set(JSON_ID_KEYS) == set(JSON_IDS)
    assert found == declared | remapped


def test_ids_in_json_fields_are_rewritten_through_the_maps():
    maps = {
        "review.record": {1: 101, 2: 102},
        "analysis.outcome": {5: 505},
        "analysis.moderator": {7: 707},
        "users": {3: 33},
        "files": {"fulltext/a.pdf": "fulltext/a_x1.pdf"},
    }
    merge = {
        "merged": "Smith 2019",
        "reports": [1, 2],
        "choices": {"data-5": "keep", "moderator-7": "other", "draft-5-3": "keep", "rob": "keep"},
        "replaced": {"data-5": {"ai": 1}},
        "discarded": {},
    }
    assert JSON_IDS["analysis.studyevent"]["detail"](merge, maps) == {
        "merged": "Smith 2019",
        "reports": [101, 102],
        "choices": {
            "data-505": "keep",
            "moderator-707": "other",
            "draft-505-33": "keep",
            "rob": "keep",
        },
        "replaced": {"data-505": {"ai": 1}},
        "discarded": {},
    }
    confirm = {"primary": 1, "moved": [2]}
    assert JSON_IDS["review.dedupevent"]["detail"](confirm, maps) == {
        "primary": 101,
        "moved": [102],
    }
    undo = {"previous_status": "confirmed", "detached": None}
    assert JSON_IDS["review.dedupevent"]["detail"](undo, maps) == undo
    retrieve = {"status": "retrieved", "file": "fulltext/a.pdf"}
    assert JSON_IDS["screening.screeningevent"]["detail"](retrieve, maps)["file"] == (
        "fulltext/a_x1.pdf"
    )
