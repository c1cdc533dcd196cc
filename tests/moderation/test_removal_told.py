"""A member whose listing a moderator removes is told why, still sees it, and can ask
the moderators to look again; a restore tells them too."""

from __future__ import annotations

import pytest
from django.urls import reverse

from listings.models import Status
from messaging.models import Notification
from moderation import services
from moderation.models import Report, ReportReason
from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db

REASON = "Selling medicines is not allowed."


@pytest.fixture
def removed(alice, moderator):
    listing = ListingFactory(owner=alice, title="Old pills")
    services.listing_hide(listing=listing, by=moderator, reason=REASON)
    listing.refresh_from_db()
    return listing


def appeal_url(listing) -> str:
    return reverse("moderation:appeal", args=["listing", listing.pk])


def test_the_owner_is_told_with_the_reason(removed, alice):
    notification = Notification.objects.get(member=alice, kind="content_removed")
    assert REASON in notification.text and "Old pills" in notification.text
    assert notification.url == removed.get_absolute_url()


def test_the_owner_sees_the_removed_listing_with_the_reason_and_nobody_else(
    client, removed, alice, bob
):
    client.force_login(alice)
    page = client.get(removed.get_absolute_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert "A moderator removed this listing" in html and REASON in html
    assert appeal_url(removed) in html
    assert 'value="active"' not in html  # no way to put it back by themselves
    client.force_login(bob)
    assert client.get(removed.get_absolute_url()).status_code == 404
    client.logout()
    assert client.get(removed.get_absolute_url()).status_code == 404


def test_the_owner_appeals_once_and_the_moderators_get_it(client, removed, alice):
    client.force_login(alice)
    assert client.get(appeal_url(removed)).status_code == 200
    response = client.post(appeal_url(removed), {"note": "They are vitamins, see photo."})
    assert response.status_code == 302 and response["Location"] == removed.get_absolute_url()
    report = Report.objects.get()
    assert (report.reason, report.reporter, report.note) == (
        ReportReason.APPEAL, alice, "They are vitamins, see photo.")
    assert Notification.objects.filter(member=alice, kind="appeal_received").exists()
    again = client.post(appeal_url(removed), {"note": "Please?"})
    assert again.status_code == 400 and "waiting for a moderator already" in again.content.decode()
    assert Report.objects.count() == 1


def test_an_empty_appeal_is_refused(client, removed, alice):
    client.force_login(alice)
    response = client.post(appeal_url(removed), {"note": "  "})
    assert response.status_code == 400
    assert not Report.objects.exists()


def test_only_the_owner_of_removed_content_may_appeal(client, alice, bob, removed):
    client.force_login(bob)
    assert client.get(appeal_url(removed)).status_code == 404
    assert client.post(appeal_url(removed), {"note": "x"}).status_code == 404
    active = ListingFactory(owner=alice)
    client.force_login(alice)
    assert client.get(appeal_url(active)).status_code == 404  # not removed
    assert not Report.objects.exists()


def test_members_cannot_pick_appeal_as_a_report_reason(client, bob):
    listing = ListingFactory()
    client.force_login(bob)
    form = client.get(reverse("moderation:report", args=["listing", listing.pk])).content.decode()
    assert 'value="appeal"' not in form
    with pytest.raises(services.ModerationError):
        services.report_create(reporter=bob, target=listing, reason=ReportReason.APPEAL)


def test_a_restore_tells_the_owner_and_clears_the_reason(removed, alice, moderator):
    services.listing_restore(listing=removed, by=moderator, reason="It was vitamins.")
    removed.refresh_from_db()
    assert removed.status != Status.REMOVED and removed.removed_reason == ""
    assert Notification.objects.filter(member=alice, kind="content_restored").exists()
