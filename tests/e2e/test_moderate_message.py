"""A moderator opens a reported chat message on a phone, in English and in French: the
text, its conversation and the actions fit a 360 px screen."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.test import Client

from messaging.conversations import conversation_for_listing
from messaging.models import Message
from moderation import services
from moderation.permissions import GROUP_NAME, sync_moderators_group
from tests.factories import ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


@pytest.mark.parametrize("language, heading, action", [
    ("en", "The reported message", "Warn its author"),
    ("fr", "Le message signalé", "Avertir son auteur"),
])
def test_a_reported_message_reads_on_a_phone(browser, live_server, output_path, language,
                                             heading, action):
    if not Group.objects.filter(name=GROUP_NAME).exists():
        sync_moderators_group(apps)
    alice = MemberFactory(display_name="Alice", email="alice@example.com")
    bob = MemberFactory(display_name="Bob", email="bob@example.com")
    moderator = MemberFactory(display_name="Mona", email="mona@example.com", is_staff=True)
    moderator.groups.add(Group.objects.get(name=GROUP_NAME))
    drill = ListingFactory(owner=alice, title="Perceuse sans fil")
    conversation = conversation_for_listing(listing=drill, member=bob)
    for sender, body in [(bob, "Is the drill free on Saturday?"), (alice, "Yes, from 9."),
                         (bob, "You are a thief and I know where you live. " * 3),
                         (alice, "Please stop.")]:
        # Stored directly: the page is the subject, and posting would broadcast from
        # this thread, where Playwright's event loop runs.
        posted = Message.objects.create(conversation=conversation, sender=sender, body=body)
        if sender == bob and "thief" in body:
            rude = posted
    services.report_create(reporter=alice, target=rude, reason="harassment", note="Threats")

    client = Client()
    client.force_login(moderator)
    context = browser.new_context(**PHONE, locale="fr-FR" if language == "fr" else "en-GB")
    context.add_cookies([
        {"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
         "value": client.cookies[settings.SESSION_COOKIE_NAME].value},
        {"name": settings.LANGUAGE_COOKIE_NAME, "url": live_server.url, "value": language},
    ])
    page = context.new_page()
    content_type = ContentType.objects.get_for_model(rude)
    response = page.goto(f"{live_server.url}/admin/moderation/report/moderate/"
                         f"{content_type.pk}/{rude.pk}/")
    assert response.status == 200
    assert page.get_by_role("heading", name=heading).is_visible()
    assert page.get_by_role("heading", name=action).count() == 1
    assert page.locator("tr[aria-current='true']").inner_text().count("thief") == 3
    page.screenshot(path=f"{output_path}/moderate-message-{language}.png", full_page=True)
    # Nothing wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()
