"""Hiding content, the audit log, who may act, and settling disputes through the real
exchanges, payments and ledger services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client

from exchanges.models import Payment, State
from ledger.audit import ledger_audit
from ledger.models import Entry, Transfer
from listings.models import Status
from moderation import services
from moderation.models import ActionKind, ModerationAction, Report
from moderation.permissions import GROUP_NAME, PERMISSIONS
from tests.exchanges.factories import make_exchange
from tests.exchanges.stripe_helpers import (
    accepted_sale,
    authorise_deposit,
    connect,
    pay,
    short_loan,
)
from tests.factories import ListingFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def staff_client(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


# --- Hiding and restoring ---------------------------------------------------------------


def test_a_hidden_listing_disappears_from_pages_and_search_and_stays_stored(alice, bob, drill, moderator):
    services.listing_hide(listing=drill, by=moderator, reason="Stolen goods")
    drill.refresh_from_db()
    assert drill.status == Status.REMOVED
    visitor = Client()
    assert visitor.get(drill.get_absolute_url()).status_code == 404
    assert "Cordless drill" not in visitor.get("/listings/?q=drill").content.decode()
    owner_page = staff_client(alice).get("/listings/mine/").content.decode()
    assert "A moderator removed these listings" in owner_page
    row = ModerationAction.objects.get()
    assert (row.action, row.target, row.reason) == (ActionKind.CONTENT_HIDE, drill, "Stolen goods")
    assert row.details["previous_status"] == Status.ACTIVE


def test_restoring_brings_the_listing_back_as_it_was(drill, moderator):
    services.listing_hide(listing=drill, by=moderator, reason="Check")
    services.listing_restore(listing=drill, by=moderator, reason="It was fine")
    drill.refresh_from_db()
    assert drill.status == Status.ACTIVE
    assert Client().get(drill.get_absolute_url()).status_code == 200
    assert ModerationAction.objects.first().action == ActionKind.CONTENT_RESTORE


def test_hiding_twice_or_restoring_what_is_visible_is_refused(drill, moderator):
    with pytest.raises(services.ModerationError, match="not hidden"):
        services.listing_restore(listing=drill, by=moderator, reason="x")
    services.listing_hide(listing=drill, by=moderator, reason="x")
    with pytest.raises(services.ModerationError, match="already hidden"):
        services.listing_hide(listing=drill, by=moderator, reason="x")
    assert ModerationAction.objects.count() == 1


def test_hiding_without_a_reason_changes_nothing(drill, moderator):
    with pytest.raises(services.ModerationError):
        services.listing_hide(listing=drill, by=moderator, reason=" ")
    drill.refresh_from_db()
    assert drill.status == Status.ACTIVE and not ModerationAction.objects.exists()


# --- Who may act --------------------------------------------------------------------------


def test_only_moderators_may_act(alice, bob, plain_staff, drill):
    report = services.report_create(reporter=bob, target=drill, reason="scam")
    for who in (alice, bob, plain_staff):
        for call, kwargs in (
            (services.listing_hide, {"listing": drill, "reason": "x"}),
            (services.member_suspend, {"member": alice, "days": 1, "reason": "x"}),
            (services.report_resolve, {"report": report, "note": "x"}),
        ):
            with pytest.raises(services.PermissionDenied):
                call(by=who, **kwargs)
    assert not ModerationAction.objects.exists()


def test_the_moderators_group_has_exactly_the_listed_permissions():
    group = Group.objects.get(name=GROUP_NAME)
    granted = {f"{p.content_type.app_label}.{p.codename}"
               for p in group.permissions.select_related("content_type")}
    assert granted <= set(PERMISSIONS)
    assert {"moderation.moderate", "moderation.change_report", "exchanges.view_exchange",
            "ledger.view_transfer"} <= granted
    forbidden = {p for p in granted if p.startswith(("ledger.", "exchanges."))
                 and not p.split(".")[1].startswith("view_")}
    assert not forbidden
    assert not any(p.startswith("members.") and not p.endswith(("view_member", "view_consentrecord"))
                   for p in granted)


def test_a_moderator_opens_the_dashboard_and_plain_staff_and_members_cannot(moderator, plain_staff, alice, bob, drill):
    services.report_create(reporter=bob, target=drill, reason="scam")
    html = staff_client(moderator).get("/admin/moderation/report/dashboard/").content.decode()
    assert "Open reports" in html and "<svg" in html and "Cordless drill" in html
    assert "/admin/moderation/report/?status__exact=open" in html
    assert staff_client(plain_staff).get("/admin/moderation/report/dashboard/").status_code == 403
    assert staff_client(alice).get("/admin/moderation/report/dashboard/").status_code == 302


def test_a_moderator_suspends_from_the_admin_page_of_the_member(moderator, plain_staff, alice):
    client = staff_client(moderator)
    url = f"/admin/moderation/report/moderate/{_ct(alice)}/{alice.pk}/"
    assert "Suspend the member" in client.get(url).content.decode()
    response = client.post(url, {"do": "suspend", "suspend-days": "0", "suspend-reason": "x"})
    alice.refresh_from_db()
    assert response.status_code == 200 and alice.may_act
    response = client.post(url, {"do": "suspend", "suspend-days": "5", "suspend-reason": "Threats"})
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.is_suspended
    change_page = client.get(f"/admin/members/member/{alice.pk}/change/").content.decode()
    assert "Moderation history" in change_page and "Threats" in change_page
    assert staff_client(plain_staff).get(url).status_code == 403


def test_nobody_edits_ledger_lines_through_the_admin_moderators_included(moderator, alice, bob):
    from ledger.services import transfer_post

    transfer = transfer_post(payer=alice, payee=bob, minutes=30, idempotency_key="t1", note="x")
    superuser = type(alice).objects.create_superuser("root@example.com", "pw-123456789")
    for who in (moderator, superuser):
        client = staff_client(who)
        page = client.get(f"/admin/ledger/transfer/{transfer.pk}/change/")
        assert page.status_code in (200, 403)
        assert 'name="minutes"' not in page.content.decode()
        entry = Entry.objects.filter(transfer=transfer).first()
        client.post(f"/admin/ledger/entry/{entry.pk}/change/", {"minutes": 999})
        client.post(f"/admin/ledger/transfer/{transfer.pk}/delete/", {"post": "yes"})
    assert Entry.objects.filter(transfer=transfer, minutes__in=[30, -30]).count() == 2
    assert not Permission.objects.filter(group__name=GROUP_NAME, codename__in=[
        "change_entry", "delete_entry", "change_transfer", "delete_transfer", "add_transfer",
        "change_payment", "change_member", "delete_member"]).exists()


def _ct(obj) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj).pk


# --- Settling disputes ----------------------------------------------------------------------


def test_settling_a_disputed_sale_by_cancelling_refunds_it_on_the_fake_stripe(
        act, alice, bob, moderator, fake_stripe):
    from exchanges import services as exchange_services

    connect(alice, fake_stripe)
    bike = ListingFactory(owner=alice, terms="sell", price_cents=4500, title="Bike")
    sale = accepted_sale(bike, bob)
    pay(sale, bob, fake_stripe)
    from tests.exchanges.stripe_helpers import deliver

    deliver(fake_stripe)
    exchange_services.exchange_dispute(exchange=sale, by=bob, note="Never delivered")
    act(services.exchange_settle_cancel, exchange=sale, by=moderator, reason="Seller vanished")
    sale.refresh_from_db()
    assert sale.state == State.CANCELLED
    payment = Payment.objects.get(exchange=sale)
    assert payment.state == "refunded" and payment.refunded_cents == 4500
    assert fake_stripe.requests_to("/v1/refunds", "POST")
    row = ModerationAction.objects.get()
    assert (row.action, row.target, row.reason) == (ActionKind.EXCHANGE_CANCEL, sale, "Seller vanished")
    assert sale.events.last().action == "settle_cancel"


def test_settling_only_works_on_a_disputed_exchange(alice, bob, moderator, drill):
    exchange = make_exchange(listing=drill, asker=bob, state=State.IN_PROGRESS)
    with pytest.raises(services.ModerationError):
        services.exchange_settle_complete(exchange=exchange, by=moderator, reason="x")
    exchange.refresh_from_db()
    assert exchange.state == State.IN_PROGRESS and not ModerationAction.objects.exists()


def test_a_moderator_captures_part_of_a_disputed_loans_deposit(alice, bob, moderator, drill, fake_stripe):
    from exchanges import services as exchange_services

    connect(alice, fake_stripe)
    loan = short_loan(drill, bob)
    authorise_deposit(loan, bob, fake_stripe)
    exchange_services.exchange_start(exchange=loan, by=alice)
    exchange_services.exchange_dispute(exchange=loan, by=alice, note="Returned broken")
    with pytest.raises(services.ModerationError):
        services.deposit_capture(exchange=loan, by=moderator, amount_cents=9999, reason="x")
    payment = services.deposit_capture(exchange=loan, by=moderator, amount_cents=2000,
                                       reason="Broken chuck")
    assert payment.state == "captured" and payment.captured_cents == 2000
    assert ModerationAction.objects.get().details["amount_cents"] == 2000


def test_completing_a_disputed_service_trade_pays_its_time_and_a_reversal_leaves_the_ledger_clean(
        alice, bob, moderator):
    lessons = ServiceFactory(owner=alice)
    trade = make_exchange(listing=lessons, asker=bob, state=State.DISPUTED)
    services.exchange_settle_complete(exchange=trade, by=moderator, reason="Lessons were given")
    trade.refresh_from_db()
    assert trade.state == State.COMPLETED
    transfer = Transfer.objects.get(reference=f"exchange:{trade.pk}")
    assert transfer.minutes == 60
    reversal = services.transfer_reverse(transfer=transfer, by=moderator, reason="Paid twice in cash")
    assert reversal.reverses == transfer and reversal.minutes == 60
    with pytest.raises(services.ModerationError, match="already reversed"):
        services.transfer_reverse(transfer=transfer, by=moderator, reason="again")
    assert ledger_audit().clean
    assert [row.action for row in ModerationAction.objects.order_by("id")] == [
        ActionKind.EXCHANGE_COMPLETE, ActionKind.TRANSFER_REVERSE]


def test_a_report_is_handled_from_the_admin_changelist_action(bob, drill, moderator):
    report = services.report_create(reporter=bob, target=drill, reason="scam")
    client = staff_client(moderator)
    confirm = client.post("/admin/moderation/report/", {
        "action": "resolve_reports", "_selected_action": [report.pk]})
    assert confirm.status_code == 200 and "Confirm" in confirm.content.decode()
    client.post("/admin/moderation/report/", {
        "action": "resolve_reports", "_selected_action": [report.pk], "apply": "1",
        "reason": "Removed the listing"})
    assert Report.objects.get().status == "resolved"
