from django import template

register = template.Library()


@register.filter
def thousands(value) -> str:
    """1900 → "1,900": PRISMA diagrams print counts with thousands separators."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return "—"


@register.filter
def get_item(mapping, key):
    """`{{ tallies|get_item:status }}`: a dict value by a key held in a variable."""
    return mapping.get(key, "") if hasattr(mapping, "get") else ""
