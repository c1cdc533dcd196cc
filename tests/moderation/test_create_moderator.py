"""`manage.py create_moderator EMAIL`: how a town's team makes a moderator."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from moderation.services import is_moderator
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("create_moderator", *args, stdout=out)
    return out.getvalue()


def test_a_member_becomes_a_moderator_and_is_told_to_set_up_an_authenticator():
    member = MemberFactory(email="carol@example.com")
    assert not is_moderator(member)

    said = run("Carol@Example.com")

    member.refresh_from_db()
    assert is_moderator(member) and member.is_staff and not member.is_superuser
    assert "authenticator app" in said and "/accounts/2fa/" in said
    run("carol@example.com")  # twice changes nothing
    assert member.groups.count() == 1


def test_remove_takes_the_role_back():
    member = MemberFactory(email="carol@example.com")
    run("carol@example.com")

    run("carol@example.com", "--remove")

    member = type(member).objects.get(pk=member.pk)  # permissions are cached per instance
    assert not is_moderator(member) and not member.is_staff


@pytest.mark.parametrize("email", ["nobody@example.com", ""])
def test_an_unknown_address_is_refused_and_makes_no_account(email):
    with pytest.raises(CommandError, match="sign up on the site first"):
        run(email)


def test_a_closed_account_cannot_become_a_moderator():
    MemberFactory(email="gone@example.com", is_active=False)
    with pytest.raises(CommandError, match="closed"):
        run("gone@example.com")


def test_the_login_says_up_front_that_the_admin_needs_an_authenticator_app(settings):
    settings.ADMIN_REQUIRE_2FA = True
    response = Client().get("/admin/login/?next=/admin/", follow=True)
    assert "authenticator app" in response.content.decode()
