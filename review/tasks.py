"""Background tasks (django.tasks): thin wrappers that load ids and call a service."""

from django.tasks import task

from review.import_service import import_run
from review.models import ImportBatch, ImportStatus


@task()
def run_import(batch_id: int) -> str:
    batch = ImportBatch.objects.select_related("review").get(pk=batch_id)
    if batch.status != ImportStatus.PENDING:
        return batch.status  # already run (a task delivered twice)
    return import_run(batch).status
