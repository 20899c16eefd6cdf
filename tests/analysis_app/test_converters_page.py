"""The converters page: each converter's result is the engine's, errors are named, outsiders
get nothing."""

import math

from django.urls import reverse

from tests import factories


def convert(client, review, name, **values):
    return client.post(reverse("analysis:convert", args=[review.slug, name]), values)


def test_converters_compute_what_the_engine_computes(client, bcg):
    client.force_login(bcg.viewer_user)
    page = client.get(reverse("analysis:converters", args=[bcg.slug]))
    assert page.status_code == 200 and page.content.decode().count('data-testid="converter-') == 8
    # (ln 2 - ln 0.5) / (2 * 1.959964) = 0.353653
    text = convert(client, bcg, "se-from-ci-ratio", lb="0.5", ub="2", level="95").content.decode()
    assert f"{(math.log(2) - math.log(0.5)) / (2 * 1.959963984540054):.6g}" in text
    # Wan et al. (2014) C3: mean = (q1 + m + q3) / 3 = (10 + 14 + 20) / 3
    text = convert(
        client, bcg, "mean-sd-from-iqr", q1="10", median="14", q3="20", n="50"
    ).content.decode()
    assert f"mean = {(10 + 14 + 20) / 3:.6g}" in text
    text = convert(client, bcg, "smd-from-t", t="2.5", n1="20", n2="22").content.decode()
    d = 2.5 * math.sqrt(1 / 20 + 1 / 22)
    j = math.exp(math.lgamma(20) - math.log(math.sqrt(20)) - math.lgamma(19.5))  # m = 40
    assert f"Hedges&#x27; g = {j * d:.4f}" in text


def test_bad_input_is_named_and_outsiders_get_404(client, bcg):
    client.force_login(bcg.viewer_user)
    text = convert(client, bcg, "sd-from-se", se="abc", n="10").content.decode()
    assert "Standard error: &#x27;abc&#x27; is not a number." in text
    text = convert(client, bcg, "sd-from-se", se="1.2").content.decode()
    assert "Sample size: required." in text
    assert convert(client, bcg, "nope", se="1").status_code == 404
    client.force_login(factories.MembershipFactory(role="lead").user)
    assert client.get(reverse("analysis:converters", args=[bcg.slug])).status_code == 404
    assert convert(client, bcg, "sd-from-se", se="1", n="4").status_code == 404
