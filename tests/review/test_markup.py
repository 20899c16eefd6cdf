"""Titles and abstracts keep PubMed's inline markup (<i>, <sup>…) and nothing else."""

import pytest
from django.urls import reverse

from review.markup import inline_markup
from tests import factories


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("Genetics of <i>Drosophila</i>", "Genetics of <i>Drosophila</i>"),
        ("CO<sub>2</sub> and m<SUP>2</SUP>", "CO<sub>2</sub> and m<sup>2</sup>"),
        ("<b>B</b>, <em>e</em>, <strong>s</strong>", "<b>B</b>, <em>e</em>, <strong>s</strong>"),
        ("x<script>alert(1)</script>", "x&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('<i onclick="alert(1)">x</i>', "&lt;i onclick=&quot;alert(1)&quot;&gt;x"),
        ("an <i>unclosed tag", "an <i>unclosed tag</i>"),
        ("stray </i> close", "stray  close"),
        ("<b><i>crossed</b></i>", "<b><i>crossed</i></b>"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d"),
        ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"),
        ("", ""),
    ],
)
def test_only_inline_tags_without_attributes_are_kept(stored, shown):
    assert inline_markup(stored) == shown


def test_a_cut_counts_only_the_visible_text_and_closes_what_it_opened():
    assert inline_markup("Study of <i>Drosophila melanogaster</i> flies", 15) == (
        "Study of <i>Droso…</i>"  # 15 characters, as truncatechars
    )
    assert inline_markup("<i>short</i>", 15) == "<i>short</i>"


@pytest.mark.django_db
def test_pages_render_the_markup_and_escape_the_rest(client):
    review = factories.ReviewFactory()
    lead = factories.MembershipFactory(review=review, role="lead").user
    record = factories.RecordFactory(
        batch__source__review=review,
        title="Wings of <i>Drosophila</i><script>alert(1)</script>",
        abstract="CO<sub>2</sub> levels <i onclick=alert(1)>rose",
    )
    client.force_login(lead)
    pages = [
        reverse("screening:record", args=[review.slug, record.pk]),
        reverse("screening:records", args=[review.slug]),
        reverse("screening:screen", args=[review.slug, "title_abstract"]),
    ]
    for url in pages:
        html = client.get(url).content.decode()
        assert "Wings of <i>Drosophila</i>" in html, url
        assert "<script>alert(1)" not in html and "&lt;script&gt;" in html, url
        assert "&lt;i&gt;" not in html, url
    detail = client.get(pages[0]).content.decode()
    assert "CO<sub>2</sub> levels &lt;i onclick=alert(1)&gt;rose" in detail
