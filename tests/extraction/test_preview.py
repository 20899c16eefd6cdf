"""Finding 5: "'Computed as you type' never runs on the extraction page (the inputs sit outside
their form, so htmx's trigger never fires)". The element that carries `hx-trigger` must see the
inputs' events (they are its descendants) and send their values (`hx-include`); the preview
reads numbers with the review's separator."""

import re
from html.parser import HTMLParser

from django.urls import reverse

from tests.extraction.conftest import declare


class _Tree(HTMLParser):
    """Each element with its attributes and the chain of its ancestors' attributes."""

    VOID = {"input", "br", "img", "meta", "link", "hr", "col", "source"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, dict]] = []
        self.elements: list[tuple[str, dict, list[dict]]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs, [a for _, a in self.stack]))
        if tag not in self.VOID:
            self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def _included(selector: str, attrs: dict) -> bool:
    """Does htmx's `hx-include` selector (the forms this page uses) match the input?"""
    by_form = re.fullmatch(r"\[form=['\"]([^'\"]+)['\"]\]", selector.strip())
    return bool(by_form) and attrs.get("form") == by_form.group(1)


def test_every_input_of_an_effect_row_reaches_the_element_that_triggers(
    client, review, lead, continuous, trial
):
    client.force_login(lead)
    url = reverse("analysis:outcome-data", args=[review.slug, continuous.pk])
    tree = _Tree()
    tree.feed(client.get(url).content.decode())
    inputs = [
        (attrs, ancestors)
        for tag, attrs, ancestors in tree.elements
        if tag == "input" and attrs.get("name") in continuous.fields
    ]
    assert len(inputs) == len(continuous.fields)
    preview = reverse("analysis:effect-preview", args=[review.slug, continuous.pk])
    for attrs, ancestors in inputs:
        triggers = [a for a in ancestors if "hx-trigger" in a and a.get("hx-post") == preview]
        assert triggers, f"{attrs['name']}: no ancestor triggers the preview"
        trigger = triggers[-1]
        in_form = trigger.get("id") == attrs.get("form")
        assert in_form or _included(trigger.get("hx-include", ""), attrs), attrs["name"]
        assert trigger["hx-target"] == f"#effect-{trial.pk}"


def _preview(client, review, outcome, values):
    url = reverse("analysis:effect-preview", args=[review.slug, outcome.pk])
    return client.post(url, values).content.decode()


def test_the_preview_computes_a_decimal_comma_when_declared(client, review, lead, generic):
    declare(review, "comma")
    client.force_login(lead)
    assert _preview(client, review, generic, {"yi": "-0,24", "sei": "0,1"}) == (
        "GEN -0.2400, variance 0.0100, 95% CI -0.4360 to -0.0440"
    )


def test_the_preview_shows_the_ambiguity_while_undeclared(client, review, lead, generic):
    client.force_login(lead)
    text = _preview(client, review, generic, {"yi": "1,234", "sei": "0.1"})
    assert text == (
        '<span class="error">Effect (analysis scale): &#x27;1,234&#x27; could be 1.234 or 1234; '
        "set the review&#x27;s decimal separator (Settings) or type it without a comma.</span>"
    )


def test_the_preview_is_for_members_who_extract(client, review, viewer, outsider, generic):
    client.force_login(viewer)
    url = reverse("analysis:effect-preview", args=[review.slug, generic.pk])
    assert client.post(url, {"yi": "1"}).status_code == 403
    client.force_login(outsider)
    assert client.post(url, {"yi": "1"}).status_code == 404
