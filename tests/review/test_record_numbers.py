"""Each review numbers its records 1, 2, 3… in import order (Record N), whatever other reviews
hold."""

import threading
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from review import import_service, services
from review.models import Record
from tests import factories

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def entries(n, prefix="Trial"):
    return [{"title": f"{prefix} {i}"} for i in range(n)]


def numbers(review):
    records = Record.objects.filter(review_id=getattr(review, "pk", review)).order_by("pk")
    return list(records.values_list("number", flat=True))


@pytest.mark.django_db
def test_two_reviews_both_start_at_record_one():
    first, second = factories.ReviewFactory(), factories.ReviewFactory()
    for review in (first, second):
        source = factories.SourceFactory(review=review)
        services.records_add(review=review, source=source, entries=entries(3), filename="a.ris")
    assert numbers(first) == [1, 2, 3]
    assert numbers(second) == [1, 2, 3]


@pytest.mark.django_db
def test_a_second_import_continues_the_numbering(review, lead):
    source = factories.SourceFactory(review=review)
    for name in ("pubmed_small.ris", "embase_small.ris"):
        batch = import_service.import_upload(
            review=review, source=source, filename=name, content=(DATA / name).read_bytes(),
            user=lead,
        )  # fmt: skip
        assert batch.status == "done", batch.error
    services.records_add(review=review, source=source, entries=entries(2), filename="hand")
    assert numbers(review) == [1, 2, 3, 4, 5, 6, 7]
    in_file_order = Record.objects.filter(review=review, batch__filename="embase_small.ris")
    assert list(in_file_order.order_by("position").values_list("number", flat=True)) == [4, 5]


@pytest.mark.django_db
def test_factory_records_are_numbered_per_review():
    review, other = factories.ReviewFactory(), factories.ReviewFactory()
    factories.RecordFactory(batch__source__review=other)
    made = factories.RecordFactory.create_batch(2, batch__source__review=review)
    assert [r.number for r in made] == [1, 2]


@pytest.mark.django_db
def test_pages_label_a_record_by_its_number_in_the_review(client):
    factories.RecordFactory.create_batch(5)  # other reviews' records take the low ids
    review = factories.ReviewFactory()
    lead = factories.MembershipFactory(review=review, role="lead").user
    record = factories.RecordFactory(batch__source__review=review)
    assert record.pk > 1 and record.number == 1
    client.force_login(lead)
    detail = client.get(reverse("screening:record", args=[review.slug, record.pk])).content
    assert b"Record 1 " in detail and f"Record {record.pk}".encode() not in detail
    listing = client.get(reverse("screening:records", args=[review.slug])).content.decode()
    assert '">1</a>' in listing and f'">{record.pk}</a>' not in listing


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="concurrent connections need PostgreSQL"
)
def test_two_imports_into_one_review_at_once_get_distinct_numbers():
    review = factories.ReviewFactory()
    sources = [factories.SourceFactory(review=review) for _ in range(2)]
    barrier = threading.Barrier(2)
    failures = []

    def add(source):
        try:
            barrier.wait()
            services.records_add(
                review=review, source=source, entries=entries(50), filename=f"{source.pk}.ris"
            )
        except Exception as error:  # reported by the assertion below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=add, args=(s,)) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == []
    assert sorted(numbers(review)) == list(range(1, 101))


@pytest.mark.django_db(transaction=True)
def test_the_migration_numbers_existing_records_per_review_in_id_order():
    from django.db.migrations.executor import MigrationExecutor

    before = [("review", "0005_review_decimal_separator")]
    after = [("review", "0006_record_number")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    apps = executor.loader.project_state(before).apps
    Review, Source = apps.get_model("review", "Review"), apps.get_model("review", "Source")
    Batch, Record = apps.get_model("review", "ImportBatch"), apps.get_model("review", "Record")
    made = []
    for slug in ("one", "two"):
        review = Review.objects.create(title=slug, slug=slug)
        source = Source.objects.create(review=review, name="db")
        batch = Batch.objects.create(review=review, source=source, filename="f", format="ris")
        made.append(review.pk)
        for i in range(3):
            Record.objects.create(review=review, batch=batch, title=f"{slug} {i}")
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the current schema
    for review_id in made:
        assert numbers(review_id) == [1, 2, 3]


@pytest.mark.django_db
def test_the_export_gives_each_record_its_number_in_the_review():
    from screening import exports

    factories.RecordFactory.create_batch(3)
    review = factories.ReviewFactory()
    lead = factories.MembershipFactory(review=review, role="lead").user
    made = factories.RecordFactory.create_batch(2, batch__source__review=review)
    table = exports.records_table(review=review, viewer=lead)
    rows = [dict(zip(table.header, row, strict=True)) for row in table.rows]
    shown = [(r["record_number"], r["record_id"]) for r in rows]
    assert shown == [(1, made[0].pk), (2, made[1].pk)]
