"""Background tasks (django.tasks): thin wrappers that load ids and call a service."""

from django.tasks import task

from review.models import Review


@task()
def retrain_ranking(review_id: int) -> int:
    """Retrain a review's title/abstract ranking; returns the labelled records it used."""
    from screening.prioritisation import ranking_train

    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        return 0
    return ranking_train(review).labels_at_training
