"""Issue 14: user text drawn by matplotlib is text, never mathtext. A study label, outcome name
or moderator name with "$…$" used to give 500 on the analysis page, 404 on the plot downloads
and 500 on the ZIP (matplotlib parsed it as a formula, or refused it as a broken one)."""

import io
import zipfile

import pytest
from django.urls import reverse

from analysis.models import Moderator, Outcome

LABELS = ("$\\alpha$ 2019", "50$ and $60", "$x^$ 2019")  # the last one: no valid formula


@pytest.fixture
def dollars(bcg):
    for study, label in zip(bcg.studies.order_by("pk")[: len(LABELS)], LABELS, strict=True):
        study.label = label
        study.save(update_fields=["label"])
    Outcome.objects.filter(review=bcg).update(name="TB $cases^$")
    Moderator.objects.filter(review=bcg, kind="numeric").update(name="$lat^$ (deg)")
    return Outcome.objects.get(review=bcg)


def url(name, review, *args):
    return reverse(f"analysis:{name}", args=[review.slug, *args])


def test_dollar_labels_render_on_the_analysis_page(client, bcg, dollars):
    client.force_login(bcg.viewer_user)
    client.raise_request_exception = False
    response = client.get(url("analysis", bcg, dollars.pk))
    assert response.status_code == 200
    assert "50$ and $60" in response.content.decode()


@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("png", b"\x89PNG"), ("pdf", b"%PDF")])
@pytest.mark.parametrize("kind", ["forest", "bubble"])
def test_dollar_labels_render_in_plot_downloads(client, bcg, dollars, kind, fmt, magic):
    client.force_login(bcg.viewer_user)
    client.raise_request_exception = False
    response = client.get(url("plot", bcg, dollars.pk, kind, fmt))
    assert response.status_code == 200 and response.content.startswith(magic)


def test_the_svg_holds_the_labels_literally(client, bcg, dollars):
    client.force_login(bcg.viewer_user)
    svg = client.get(url("plot", bcg, dollars.pk, "forest", "svg")).content.decode()
    for label in LABELS:
        assert f">{label}<" in svg, label
    bubble = client.get(url("plot", bcg, dollars.pk, "bubble", "svg")).content.decode()
    assert ">$lat^$ (deg)<" in bubble


def test_dollar_labels_go_into_the_zip(client, bcg, dollars):
    client.force_login(bcg.viewer_user)
    client.raise_request_exception = False
    response = client.get(url("export", bcg))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    svgs = [n for n in archive.namelist() if n.endswith(".svg") and "forest" in n]
    assert svgs and all(">50$ and $60<" in archive.read(n).decode() for n in svgs)
