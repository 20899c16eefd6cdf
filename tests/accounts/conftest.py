import re

import pytest

LINK = re.compile(r"http://testserver(/accounts/invitations/[^/\s]+/)")
STRONG = "a-Long pass 7781"


def invitation_path(text: str) -> str:
    """The path of the one invitation link in an e-mail or a page."""
    paths = set(LINK.findall(text))
    assert len(paths) == 1, text
    return paths.pop()


@pytest.fixture
def invite(client, review, lead):
    """Invite an e-mail address as the lead; returns the link's path from the e-mail sent."""
    from django.core import mail
    from django.urls import reverse

    def _invite(email, role="reviewer"):
        client.force_login(lead)
        before = len(mail.outbox)
        response = client.post(
            reverse("review:invite", args=[review.slug]), {"email": email, "role": role}
        )
        assert response.status_code == 302, response.content.decode()
        assert len(mail.outbox) == before + 1
        client.logout()
        return invitation_path(mail.outbox[-1].body)

    return _invite
