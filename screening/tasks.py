"""Background tasks (django.tasks): thin wrappers that load ids and call a service."""

from django.tasks import task

from review.models import Review


@task()
def retrain_ranking(review_id: int) -> int:
    """Retrain a review's title/abstract ranking; returns the labelled records it used."""
    from screening.models import Prioritisation
    from screening.prioritisation import ranking_train

    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        return 0
    try:
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
    try:
        return personal_ranking_train(review, reviewer).labels_at_training
    except BaseException:
        # Let the reviewer's next decision queue it again rather than wait out the stale claim.
        ReviewerRanking.objects.filter(review=review, reviewer=reviewer).update(
            training_requested_at=None
        )
        raise
