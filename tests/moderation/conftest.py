"""A moderator (staff in the Moderators group), plain staff, and members with content."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from moderation.permissions import GROUP_NAME
from tests.factories import ListingFactory, MemberFactory


@pytest.fixture
def moderator(db):
    member = MemberFactory(display_name="Mona", is_staff=True)
    member.groups.add(Group.objects.get(name=GROUP_NAME))
    return member


@pytest.fixture
def plain_staff(db):
    return MemberFactory(display_name="Stan", is_staff=True)


@pytest.fixture
def drill(alice):
    return ListingFactory(owner=alice, title="Cordless drill", deposit_cents=5000, price_cents=300)


@pytest.fixture
def act(django_capture_on_commit_callbacks):
    """Run a service and its after-commit callbacks (notifications, socket closes, refunds)."""
    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run
