import pytest

from analysis.models import DataType, Outcome, Study


@pytest.fixture
def continuous(review):
    return Outcome.objects.create(
        review=review, name="Pain", data_type=DataType.CONTINUOUS, measure="MD"
    )


@pytest.fixture
def generic(review):
    return Outcome.objects.create(
        review=review, name="Effect", data_type=DataType.GENERIC, measure="GEN"
    )


@pytest.fixture
def trial(review):
    return Study.objects.create(review=review, label="Trial 1")


def declare(review, decimal):
    review.decimal_separator = decimal
    review.save(update_fields=["decimal_separator"])
