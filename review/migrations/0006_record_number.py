"""Number each review's records 1..n (Record N), in import order, instead of showing the
database id that all reviews share. Existing records are numbered in id order per review."""

from django.db import migrations, models


def number_records(apps, schema_editor):
    Record = apps.get_model("review", "Record")
    review_ids = Record.objects.order_by().values_list("review_id", flat=True).distinct()
    for review_id in review_ids:
        ids = Record.objects.filter(review_id=review_id).order_by("pk").values_list("pk", flat=True)
        changed = [Record(pk=pk, number=n) for n, pk in enumerate(ids.iterator(), start=1)]
        Record.objects.bulk_update(changed, ["number"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0005_review_decimal_separator"),
    ]

    operations = [
        migrations.AddField(
            model_name="record",
            name="number",
            field=models.PositiveIntegerField(null=True),
        ),
        migrations.RunPython(number_records, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="record",
            name="number",
            field=models.PositiveIntegerField(
                help_text="The record's number in its review (Record 1, 2, …), in import order."
            ),
        ),
        migrations.AddConstraint(
            model_name="record",
            constraint=models.UniqueConstraint(
                fields=("review", "number"), name="record_number_in_review"
            ),
        ),
    ]
