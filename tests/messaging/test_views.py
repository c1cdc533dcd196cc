"""The notifications page: a member's own only, opened with a POST that marks it read."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone, translation

from messaging.models import Notification
from tests.messaging.conftest import make_notification

LIST = "/notifications/"


def test_anonymous_visitors_are_sent_to_log_in(client, alice):
    notification = make_notification(alice)
    for response in (
        client.get(LIST),
        client.post(reverse("notifications:open", args=[notification.pk])),
        client.post(reverse("notifications:read-all")),
    ):
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    notification.refresh_from_db()
    assert notification.read_at is None


def test_it_lists_the_members_own_notifications_newest_first(client, alice, bob):
    older = make_notification(alice, params={"who": "Bob", "listing": "Ladder"})
    Notification.objects.filter(pk=older.pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    make_notification(alice, params={"who": "Bob", "listing": "Drill"})
    make_notification(bob, params={"who": "Alice", "listing": "Secret bike"})
    client.force_login(alice)

    response = client.get(LIST)

    page = response.content.decode()
    assert response.status_code == 200
    assert page.index("“Drill”") < page.index("“Ladder”")
    assert "Secret bike" not in page
    assert page.count('class="notification notification-unread"') == 2


def test_read_ones_are_not_highlighted(client, alice):
    make_notification(alice)
    Notification.objects.update(read_at=timezone.now())
    client.force_login(alice)
    page = client.get(LIST).content.decode()
    assert "notification-unread" not in page
    assert "Mark all as read" not in page


def test_it_says_so_when_there_is_nothing(client, alice):
    client.force_login(alice)
    assert "Nothing new." in client.get(LIST).content.decode()


def test_it_is_paginated(client, alice):
    for n in range(23):
        make_notification(alice, params={"who": "Bob", "listing": f"Thing {n:02d}"})
    client.force_login(alice)
    first = client.get(LIST).content.decode()
    second = client.get(LIST, {"page": 2}).content.decode()
    assert first.count('class="notification ') == 20
    assert second.count('class="notification ') == 3
    assert "Thing 00" in second and "Thing 00" not in first


def test_it_speaks_the_readers_language(client, alice):
    make_notification(alice)
    client.force_login(alice)
    page = client.get(LIST, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    translation.activate("en")
    assert "Bob a refusé votre demande pour « Cordless drill »." in page


def test_opening_marks_it_read_and_goes_to_its_page(client, alice):
    notification = make_notification(alice, url="/listings/")
    client.force_login(alice)
    response = client.post(reverse("notifications:open", args=[notification.pk]))
    assert response.status_code == 302
    assert response.url == "/listings/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_it_again_keeps_the_first_reading_time(client, alice):
    notification = make_notification(alice)
    client.force_login(alice)
    client.post(reverse("notifications:open", args=[notification.pk]))
    first = Notification.objects.get(pk=notification.pk).read_at
    client.post(reverse("notifications:open", args=[notification.pk]))
    assert Notification.objects.get(pk=notification.pk).read_at == first


def test_it_never_redirects_to_another_site(client, alice):
    for url in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)", ""):
        notification = make_notification(alice, url=url)
        client.force_login(alice)
        response = client.post(reverse("notifications:open", args=[notification.pk]))
        assert response.url == LIST


def test_it_refuses_another_members_notification(client, alice, bob):
    notification = make_notification(bob)
    client.force_login(alice)
    response = client.post(reverse("notifications:open", args=[notification.pk]))
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_opening_needs_a_post(client, alice):
    notification = make_notification(alice)
    client.force_login(alice)
    assert client.get(reverse("notifications:open", args=[notification.pk])).status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_as_read_marks_only_the_members_own(client, alice, bob):
    make_notification(alice)
    make_notification(alice)
    theirs = make_notification(bob)
    client.force_login(alice)

    response = client.post(reverse("notifications:read-all"), follow=True)

    assert response.redirect_chain == [(LIST, 302)]
    assert not Notification.objects.filter(member=alice, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert "All your notifications are marked as read." in response.content.decode()


def test_mark_all_as_read_needs_a_post(client, alice):
    make_notification(alice)
    client.force_login(alice)
    assert client.get(reverse("notifications:read-all")).status_code == 405
    assert Notification.objects.filter(read_at__isnull=True).count() == 1
