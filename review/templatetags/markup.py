from django import template
from django.utils.safestring import SafeString, mark_safe

from review.markup import inline_markup as _inline_markup

register = template.Library()


@register.filter
def inline_markup(value, limit=None) -> SafeString:
    """`{{ record.title|inline_markup }}`, `{{ record.title|inline_markup:160 }}`: the text with
    its <i>, <sup>… kept and everything else escaped (review.markup)."""
    try:
        limit = int(limit) if limit is not None else None
    except (TypeError, ValueError):
        limit = None
    return mark_safe(_inline_markup("" if value is None else str(value), limit))  # noqa: S308
