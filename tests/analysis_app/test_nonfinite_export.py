"""Issue 14: an outcome whose studies have identical effects (tau² = 0, I² = 0, so the
log of a zero statistic is -inf) made the ZIP answer 500 (``json.dumps(allow_nan=False)``
refused the -inf). Non-finite numbers are written as JSON null and CSV NA."""

import csv
import io
import json
import math
import zipfile

import pytest
from django.urls import reverse

from analysis.models import EffectData

SAME = {"ai": 10, "n1i": 100, "ci": 20, "n2i": 100}


@pytest.fixture
def identical(bcg):
    EffectData.objects.filter(outcome__review=bcg).update(values=SAME)
    return bcg


def _refuse_constant(name):
    raise AssertionError(f"{name} in a JSON export")


def _zip(client, review):
    client.force_login(review.viewer_user)
    client.raise_request_exception = False
    response = client.get(reverse("analysis:export", args=[review.slug]))
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(response.content))


def _floats(value):
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _floats(v)
    elif isinstance(value, list):
        for v in value:
            yield from _floats(v)


def test_identical_effects_export_null_in_json(client, identical):
    archive = _zip(client, identical)
    names = [n for n in archive.namelist() if n.endswith(".json")]
    assert any(n.startswith("results/") for n in names)
    for name in names:
        data = json.loads(archive.read(name), parse_constant=_refuse_constant)
        assert all(math.isfinite(x) for x in _floats(data)), name
    report = json.loads(archive.read(next(n for n in names if n.startswith("results/"))))
    assert report["report"]["main"]["tau2"] == 0


def test_identical_effects_export_na_in_csv(client, identical):
    archive = _zip(client, identical)
    for name in [n for n in archive.namelist() if n.endswith(".csv")]:
        for row in csv.reader(io.StringIO(archive.read(name).decode())):
            for cell in row:
                assert cell.lower() not in ("inf", "-inf", "nan", "infinity"), (name, row)


def test_csv_cells_of_non_finite_numbers_are_na():
    from analysis.exports import _csv

    text = _csv(["a", "b", "c", "d"], [{"a": float("-inf"), "b": float("nan"), "c": 0.5}])
    assert text.decode().splitlines() == ["a,b,c,d", "NA,NA,0.5,"]


def test_the_clean_json_helper_turns_non_finite_into_null():
    from analysis.exports import dumps_json

    text = dumps_json({"a": float("-inf"), "b": [float("nan"), 1.5], "c": float("inf")})
    assert json.loads(text) == {"a": None, "b": [None, 1.5], "c": None}


def test_identical_effects_render_on_the_page_and_in_plots(client, identical):
    from analysis.models import Outcome

    outcome = Outcome.objects.get(review=identical)
    client.force_login(identical.viewer_user)
    client.raise_request_exception = False
    args = [identical.slug, outcome.pk]
    assert client.get(reverse("analysis:analysis", args=args)).status_code == 200
    for kind in ("forest", "funnel"):
        plot = client.get(reverse("analysis:plot", args=[*args, kind, "svg"]))
        assert plot.status_code == 200, kind
