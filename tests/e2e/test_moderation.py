"""A moderator signs in with a TOTP code, opens the dashboard, resolves a report on
Alice's listing and suspends her for a week, all through the admin pages; Alice then
tries to log in and is told why she cannot. The admin is a desktop tool, so the
moderator uses a laptop-sized window (the dashboard is also checked on a phone)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.apps import apps
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from listings.models import Status
from moderation import services
from moderation.models import ActionKind, ModerationAction, ReportReason, ReportStatus
from moderation.permissions import GROUP_NAME, sync_moderators_group
from tests.factories import PASSWORD, ListingFactory, MemberFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LAPTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "en-GB"}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "en-GB"}
SUSPENSION_REASON = "Listed a counterfeit drill and asked for payment outside Partage."


@pytest.fixture(autouse=True)
def _require_2fa(settings):
    # tests/conftest.py turns the staff 2FA gate off; this journey is about that gate.
    settings.ADMIN_REQUIRE_2FA = True


@pytest.fixture
def moderators_group(transactional_db):
    # A transactional test flushes the group the data migration made: make it again the
    # way moderation keeps it in step after every migrate.
    if not Group.objects.filter(name=GROUP_NAME).exists():
        sync_moderators_group(apps)
    return Group.objects.get(name=GROUP_NAME)


def current_code(secret: str) -> str:
    """The code the authenticator app shows now, never one about to expire."""
    if 30 - time.time() % 30 < 3:
        time.sleep(30 - time.time() % 30 + 0.5)
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_a_moderator_signs_in_with_totp_handles_a_report_and_suspends_a_member(
    browser, live_server, output_path, moderators_group
):
    alice = MemberFactory(display_name="Alice", email="alice@example.com")
    bob = MemberFactory(display_name="Bob", email="bob@example.com")
    drill = ListingFactory(owner=alice, title="Counterfeit drill", status=Status.ACTIVE)
    report = services.report_create(reporter=bob, target=drill, reason=ReportReason.SCAM,
                                    note="The photos are from a shop website; she wants cash first.")
    mona = MemberFactory(display_name="Mona", email="mona@example.com", is_staff=True)
    mona.groups.add(moderators_group)
    secret = generate_totp_secret()
    TOTP.activate(mona, secret)

    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)

    def shot(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    base = live_server.url
    moderator_context = browser.new_context(**LAPTOP)
    try:
        page = moderator_context.new_page()
        page.set_default_timeout(10_000)

        # The admin sends her to the site's login, which asks for the code after the password.
        page.goto(base + "/admin/")
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fadmin%2F"))
        page.get_by_label(re.compile("Email", re.I)).fill("mona@example.com")
        page.get_by_label(re.compile(r"^Password", re.I)).fill(PASSWORD)
        shot(page, "01-login")
        page.get_by_role("button", name=re.compile("Sign In|Log in", re.I)).click()
        expect(page).to_have_url(re.compile("/accounts/2fa/authenticate/"))
        code_field = page.get_by_label(re.compile("code", re.I))
        right = current_code(secret)
        wrong = f"{(int(right) + 1) % 1_000_000:06d}"
        code_field.fill(wrong)
        page.get_by_role("button", name=re.compile("Sign In|Log in|Verify|Confirm", re.I)).click()
        expect(page).to_have_url(re.compile("/accounts/2fa/authenticate/"))
        expect(page.get_by_text(re.compile("Incorrect code", re.I))).to_be_visible()
        shot(page, "02-wrong-code-refused")
        page.goto(base + "/admin/")
        # The wrong code opened nothing: the admin still sends her back for the code.
        expect(page).to_have_url(re.compile("/accounts/2fa/authenticate/"))
        page.get_by_label(re.compile("code", re.I)).fill(current_code(secret))
        page.get_by_role("button", name=re.compile("Sign In|Log in|Verify|Confirm", re.I)).click()
        expect(page).to_have_url(re.compile(r"/admin/$"))
        shot(page, "03-admin-index")

        # The dashboard, from the admin index.
        page.get_by_role("link", name="Moderation dashboard").click()
        expect(page.get_by_role("heading", name="Moderation dashboard")).to_be_visible()
        open_reports = page.locator(".mod-figure-list a", has_text="Open reports")
        expect(open_reports.locator("strong")).to_have_text("1")
        shot(page, "04-dashboard")

        # The figure leads to the open reports; she resolves Bob's with a note.
        open_reports.click()
        expect(page).to_have_url(re.compile(r"/admin/moderation/report/\?status__exact=open"))
        row = page.locator("#result_list tbody tr", has_text="Counterfeit drill")
        expect(row).to_have_count(1)
        shot(page, "05-open-reports")
        row.locator("input.action-select").check()
        page.locator("select[name=action]").select_option(label="Resolve selected reports")
        page.get_by_role("button", name="Go").click()
        expect(page.get_by_role("heading", name="Resolve reports")).to_be_visible()
        page.get_by_label("Reason").fill("Counterfeit: the listing goes with the suspension.")
        shot(page, "06-resolve-note")
        page.get_by_role("button", name="Confirm").click()
        expect(page.locator(".messagelist")).to_contain_text("1 report handled.")
        shot(page, "07-report-resolved")
        # Resolved, it leaves the open list; the report's own page says so.
        page.goto(base + f"/admin/moderation/report/{report.pk}/change/")
        expect(page.locator(".field-status")).to_contain_text("Resolved")
        expect(page.locator(".field-handling_note")).to_contain_text("Counterfeit")
        expect(page.get_by_role("button", name="Save")).to_have_count(0)  # nothing to edit
        shot(page, "08-report-page")

        # From the report, the moderation page of the listing, then of its owner.
        page.get_by_role("link", name="Open the moderation page").click()
        expect(page.get_by_role("heading", name=re.compile("Moderate: .*Counterfeit drill"))).to_be_visible()
        shot(page, "09-moderate-listing")
        page.get_by_role("link", name="Moderate its member: Alice").click()
        expect(page.get_by_role("heading", name=re.compile("Moderate: .*Alice"))).to_be_visible()
        suspend = page.get_by_role("form", name="Suspend the member")
        expect(suspend.get_by_label("Days")).to_have_value("7")
        suspend.get_by_label("Reason").fill(SUSPENSION_REASON)
        shot(page, "10-suspend-form")
        suspend.get_by_role("button", name="Suspend").click()
        expect(page.locator(".messagelist")).to_contain_text("recorded in the audit log")
        # Suspended, she can now be reinstated; the history shows the suspension and why.
        expect(page.get_by_role("form", name="Lift the suspension or ban")).to_be_visible()
        expect(page.locator("#content")).to_contain_text(SUSPENSION_REASON)
        shot(page, "11-suspended")

        # The dashboard on a phone: the figures still fit and read.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(base + "/admin/moderation/report/dashboard/")
        expect(page.locator(".mod-figure-list a", has_text="Open reports").locator("strong")).to_have_text("0")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(page, "12-dashboard-phone")
    finally:
        moderator_context.close()

    alice.refresh_from_db()
    drill.refresh_from_db()
    report.refresh_from_db()
    assert report.status == ReportStatus.RESOLVED and report.handled_by == mona
    ahead = alice.suspended_until - timezone.now()
    assert timedelta(days=7) - timedelta(minutes=5) < ahead <= timedelta(days=7)
    assert alice.standing_reason == SUSPENSION_REASON
    assert drill.status == Status.PAUSED
    audit = list(ModerationAction.objects.order_by("created_at").values_list("moderator", "action", "object_id"))
    assert audit == [(mona.pk, ActionKind.REPORT_RESOLVE, report.pk),
                     (mona.pk, ActionKind.MEMBER_SUSPEND, alice.pk)]

    # Alice, in her own browser, is refused at the login and told why.
    alice_context = browser.new_context(**PHONE)
    try:
        alice_page = alice_context.new_page()
        alice_page.goto(base + "/accounts/login/")
        alice_page.get_by_label(re.compile("Email", re.I)).fill("alice@example.com")
        alice_page.get_by_label(re.compile(r"^Password", re.I)).fill(PASSWORD)
        alice_page.get_by_role("button", name=re.compile("Sign In|Log in", re.I)).click()
        expect(alice_page.get_by_role("heading", name="Your account is suspended")).to_be_visible()
        expect(alice_page.locator(".standing-reason")).to_have_text(SUSPENSION_REASON)
        expect(alice_page.locator(".standing-message")).to_contain_text("your account is suspended")
        assert alice_page.evaluate("document.documentElement.scrollWidth") <= 390
        shot(alice_page, "13-alice-refused")
        alice_page.goto(base + "/exchanges/")
        expect(alice_page).to_have_url(re.compile("/accounts/login/"))
    finally:
        alice_context.close()
