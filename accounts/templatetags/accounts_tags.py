from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def signup_allowed() -> bool:
    """Is open sign-up on (ALLOW_SIGNUP)? The login page links to it only then."""
    return settings.ALLOW_SIGNUP
