"""The main navigation as the server renders it (no script needed): a tab bar with the
main actions and the unread counts for phones, and the main links in the header for
laptops (the stylesheet shows one or the other)."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from messaging.conversations import conversation_for_listing, message_post
from tests.factories import ListingFactory
from tests.messaging.conftest import make_notification


def tab_bar(page: str) -> str:
    match = re.search(r'<nav class="tab-bar"[^>]*>(.*?)</nav>', page, re.S)
    assert match, "no tab bar"
    return match.group(1)


def header_nav(page: str) -> str:
    match = re.search(r'<nav class="header-nav"[^>]*>(.*?)</nav>', page, re.S)
    assert match, "no navigation in the header"
    return match.group(1)


def hrefs(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]+)"', html)


def test_a_member_has_browse_post_messages_and_notifications_in_the_tab_bar(client, alice, bob):
    make_notification(alice)
    make_notification(alice)
    drill = ListingFactory(owner=alice)
    message_post(conversation=conversation_for_listing(listing=drill, member=bob), sender=bob,
                 body="Is it free on Saturday?")
    client.force_login(alice)
    bar = tab_bar(client.get(reverse("listings:list")).content.decode())
    assert hrefs(bar) == [reverse("listings:list"), reverse("listings:create"),
                          reverse("conversations:inbox"), reverse("notifications:list")]
    # The counts, which static/js/live.js keeps in step, and words for screen readers.
    assert '<span class="notif-count" aria-hidden="true" data-live-count="messages">1</span>' in bar
    assert '<span class="notif-count" aria-hidden="true" data-live-count="notifications">2</span>' in bar
    assert '<span class="visually-hidden" data-live-label="messages">Messages, 1 unread</span>' in bar
    assert '<span class="visually-hidden" data-live-label="notifications">Notifications, 2 unread</span>' in bar
    # The page the member is on is marked.
    assert re.search(rf'<a href="{reverse("listings:list")}" aria-current="page">', bar)
    assert bar.count('aria-current="page"') == 1


def test_the_tab_bar_keeps_empty_counts_hidden_for_the_live_script(client, alice):
    client.force_login(alice)
    bar = tab_bar(client.get(reverse("home")).content.decode())
    assert '<span class="notif-count" aria-hidden="true" data-live-count="messages" hidden></span>' in bar
    assert '<span class="visually-hidden" data-live-label="notifications">Notifications</span>' in bar
    assert 'aria-current' not in bar


def test_the_tab_bar_reads_the_counts_once_per_page(client, alice):
    make_notification(alice)
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()
              and "messaging_notification" in q["sql"]]
    assert len(counts) == 1, counts


def test_a_visitor_has_browse_post_and_log_in(client, db):
    page = client.get(reverse("home")).content.decode()
    bar = tab_bar(page)
    assert hrefs(bar) == [reverse("listings:list"), reverse("listings:create"),
                          reverse("account_login")]
    assert "data-live-count" not in bar
    assert hrefs(header_nav(page)) == [reverse("listings:list"), reverse("listings:create"),
                                       reverse("account_login")]


def test_a_member_has_the_main_links_in_the_header(client, alice):
    client.force_login(alice)
    nav = header_nav(client.get(reverse("home")).content.decode())
    assert hrefs(nav) == [reverse("listings:list"), reverse("listings:create"),
                          reverse("exchanges:list")]


def test_the_tab_bar_speaks_french(client, alice):
    client.force_login(alice)
    client.post(reverse("language"), {"language": "fr", "next": "/"})
    bar = tab_bar(client.get(reverse("home")).content.decode())
    for label in ("Parcourir", "Publier", "Messages", "Notifications"):
        assert f'>{label}</span>' in bar
