"""The time page and My data on a 360 px phone: the period reads as days, a gift of hours
is worded, dates in the language's one style, French colons with their space."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import formats, timezone, translation
from playwright.sync_api import expect

from ledger.services import transfer_post
from members.services import member_set_consent
from tests.e2e.test_chat import signed_in_context
from tests.factories import MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_the_time_page_and_my_data_read_right(browser, live_server, output_path, language):
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)
    alice, bob = MemberFactory(display_name="Alice"), MemberFactory(display_name="Bob")
    transfer_post(payer=alice, payee=bob, minutes=90, idempotency_key="gift-1", reference="gift",
                  note="Thanks for the help")
    member_set_consent(member=bob, kind="email", granted=True)
    context = signed_in_context(browser, live_server.url, bob, viewport={"width": 360, "height": 640})
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}])
    with translation.override(language):
        today = formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/time/")
        expect(page.locator('label[for="id_date_from"]')).to_contain_text("From" if language == "en" else "Du")
        expect(page.locator('label[for="id_date_to"]')).to_contain_text("To" if language == "en" else "Au")
        expect(page.locator(".statement-note")).to_contain_text("gift" if language == "en" else "don")
        expect(page.locator("table")).to_contain_text(today)
        page.screenshot(path=str(folder / f"time-{language}.png"), full_page=True)

        page.goto(f"{live_server.url}/members/me/data/")
        consent = page.locator(".consent").first
        expect(consent).not_to_contain_text("p.m.")
        if language == "fr":
            assert "\u00a0:" in consent.inner_text() or " :" in consent.inner_text()
        page.screenshot(path=str(folder / f"my-data-{language}.png"), full_page=True)
    finally:
        context.close()
