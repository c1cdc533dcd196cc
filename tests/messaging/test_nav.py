"""The unread count in the header: one query for members, none for visitors."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.template import Context, Template
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from messaging.context_processors import notifications
from messaging.models import Notification
from tests.messaging.conftest import make_notification


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_the_count_costs_one_query_however_often_it_is_shown(alice, django_assert_num_queries):
    make_notification(alice)
    make_notification(alice)
    context = notifications(_request(alice))
    template = Template("{{ unread_notifications }} {% if unread_notifications %}{{ unread_notifications }}{% endif %}")
    with django_assert_num_queries(1):
        assert template.render(Context(context)) == "2 2"


def test_a_page_that_never_shows_it_costs_nothing(alice, django_assert_num_queries):
    with django_assert_num_queries(0):
        notifications(_request(alice))


def test_visitors_cost_no_query(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert notifications(_request(AnonymousUser())) == {
            "unread_notifications": 0, "unread_messages": 0,
        }


def test_read_and_other_members_notifications_are_not_counted(alice, bob):
    read = make_notification(alice)
    Notification.objects.filter(pk=read.pk).update(read_at=timezone.now())
    make_notification(alice)
    make_notification(bob)
    assert notifications(_request(alice))["unread_notifications"]() == 1


def test_the_header_shows_the_bell_with_the_count(client, alice):
    make_notification(alice)
    make_notification(alice)
    make_notification(alice)
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert f'class="notif-link" href="{reverse("notifications:list")}"' in page
    assert '<span class="notif-count" aria-hidden="true" data-live-count="notifications">3</span>' in page
    assert "Notifications, 3 unread" in page


def test_the_header_shows_no_badge_when_all_is_read(client, alice):
    make_notification(alice)
    Notification.objects.update(read_at=timezone.now())
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert "notif-link" in page
    # Still there, hidden and empty, for the live count to fill.
    assert '<span class="notif-count" aria-hidden="true" data-live-count="notifications" hidden></span>' in page


def test_the_header_caps_a_large_count(client, alice):
    for _ in range(120):
        make_notification(alice)
    client.force_login(alice)
    assert '<span class="notif-count" aria-hidden="true" data-live-count="notifications">99+</span>' in client.get(
        reverse("home")
    ).content.decode()


def test_visitors_see_no_bell_and_no_exchanges_link(client, db):
    page = client.get(reverse("home")).content.decode()
    assert "notif-link" not in page
    assert "My exchanges" not in page


def test_members_find_their_exchanges_in_the_menu(client, alice):
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert f'<a href="{reverse("exchanges:list")}">My exchanges</a>' in page


def test_a_page_pays_one_query_for_the_count(client, alice):
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    counts = [q["sql"] for q in queries if "messaging_notification" in q["sql"]]
    assert len(counts) == 1
