"""Background tasks (django.tasks): thin wrappers that load ids and call a service."""

from django.conf import settings
from django.tasks import task
from django.utils import timezone

from review.heartbeat import Heartbeat, beat_interval
from review.models import Review


def _claim_heartbeat(rows) -> Heartbeat:
    """Keep a running retrain's claim (`training_requested_at`) fresh, so that only the claim
    of a retrain whose worker died goes stale (`screening.prioritisation.claim_stale_before`)."""
    return Heartbeat(
        lambda: rows.filter(training_requested_at__isnull=False).update(
            training_requested_at=timezone.now()
        ),
        every=beat_interval(settings.RANKING_STALE_SECONDS),
    )


@task()
def retrain_ranking(review_id: int) -> int:
    """Retrain a review's title/abstract ranking; returns the labelled records it used."""
    from screening.models import Prioritisation
    from screening.prioritisation import ranking_train

    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        return 0
    rows = Prioritisation.objects.filter(review=review)
    if not rows.filter(training_requested_at__isnull=False).exists():
        return -1  # nothing claimed: a copy queued again after a stale claim ran already
    try:
        with _claim_heartbeat(rows):
            return ranking_train(review).labels_at_training
    except BaseException:
        # Let the next decision queue it again rather than wait out the stale claim.
        Prioritisation.objects.filter(review=review).update(training_requested_at=None)
        raise


@task()
def run_export(job_id: int) -> str:
    """Build a large review's Excel export for the member who asked for it."""
    from screening.exports import export_job_run
    from screening.models import ExportJob, ExportStatus

    job = ExportJob.objects.select_related("review", "user").filter(pk=job_id).first()
    if job is None or job.status != ExportStatus.PENDING:
        return "gone" if job is None else job.status  # delivered twice
    export_job_run(job)
    return job.status


@task()
def retrain_personal_ranking(review_id: int, reviewer_id: int) -> int:
    """Retrain one reviewer's own title/abstract ranking (blind stages); returns its labels."""
    from django.contrib.auth import get_user_model

    from screening.models import ReviewerRanking
    from screening.prioritisation import personal_ranking_train

    review = Review.objects.filter(pk=review_id).first()
    reviewer = get_user_model().objects.filter(pk=reviewer_id).first()
    if review is None or reviewer is None:
        return 0
    rows = ReviewerRanking.objects.filter(review=review, reviewer=reviewer)
    if not rows.filter(training_requested_at__isnull=False).exists():
        return -1  # nothing claimed: a copy queued again after a stale claim ran already
    try:
        with _claim_heartbeat(rows):
            return personal_ranking_train(review, reviewer).labels_at_training
    except BaseException:
        # Let the reviewer's next decision queue it again rather than wait out the stale claim.
        ReviewerRanking.objects.filter(review=review, reviewer=reviewer).update(
            training_requested_at=None
        )
        raise
