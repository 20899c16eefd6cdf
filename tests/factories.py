import factory
from django.contrib.auth import get_user_model
from django.db.models import Max

from review.models import Arm, ImportBatch, ImportFormat, Membership, Record, Review, Source


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    title = factory.Sequence(lambda n: f"Review {n}")
    slug = factory.Sequence(lambda n: f"review-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    review = factory.SubFactory(ReviewFactory)
    user = factory.SubFactory(UserFactory)
    role = "reviewer"


class SourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Source

    review = factory.SubFactory(ReviewFactory)
    name = factory.Sequence(lambda n: f"Database {n}")
    arm = Arm.DATABASE


class ImportBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportBatch

    source = factory.SubFactory(SourceFactory)
    review = factory.SelfAttribute("source.review")
    filename = "export.ris"
    format = ImportFormat.RIS


class RecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Record

    batch = factory.SubFactory(ImportBatchFactory)
    review = factory.SelfAttribute("batch.review")
    title = factory.Sequence(lambda n: f"A randomised trial number {n}")
    # The review's next number (Record N), as an import would give it.
    number = factory.LazyAttribute(
        lambda o: (Record.objects.filter(review=o.review).aggregate(n=Max("number"))["n"] or 0) + 1
    )
