import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from review.models import Arm
from screening.models import ResultMethod, Retrieval, RetrievalStatus, Stage, StageResult, Verdict
from tests import factories
from tests.fulltext.pdfs import PDF


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def member(review, username, role="reviewer"):
    user = factories.UserFactory(username=username)
    factories.MembershipFactory(review=review, user=user, role=role)
    return user


@pytest.fixture
def team(review):
    """Blind dual mode at both stages (the defaults): a lead, a reviewer, a viewer."""
    return {
        "lead": member(review, "lena", "lead"),
        "alice": member(review, "alice"),
        "viewer": member(review, "vic", "viewer"),
    }


def sought_record(review, *, title="A trial of aspirin", doi="", arm=Arm.DATABASE):
    """A record sought for retrieval: included at title/abstract (databases) or found by
    other methods."""
    batch = factories.ImportBatchFactory(source=factories.SourceFactory(review=review, arm=arm))
    record = factories.RecordFactory(batch=batch, title=title, doi=doi)
    if arm in (Arm.DATABASE, Arm.REGISTER):
        StageResult.objects.create(
            review=review,
            record=record,
            stage=Stage.TITLE_ABSTRACT,
            verdict=Verdict.INCLUDE,
            method=ResultMethod.SINGLE,
            created_at=timezone.now(),
        )
    return record


def attach(record, content=PDF, name="paper.pdf", url=""):
    retrieval = Retrieval(
        review=record.review, record=record, status=RetrievalStatus.RETRIEVED, url=url
    )
    retrieval.file.save(name, ContentFile(content), save=False)
    retrieval.save()
    return retrieval
