"""Reporting: the page, the service, grouping, the duplicate rule and bad input."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from messaging.models import Notification
from moderation import services
from moderation.models import ActionKind, ModerationAction, Report, ReportStatus
from tests.exchanges.stripe_helpers import client_for

pytestmark = pytest.mark.django_db


def test_a_member_reports_a_listing_from_its_page(bob, drill):
    client = client_for(bob)
    page = client.get(drill.get_absolute_url()).content.decode()
    assert f"/report/listing/{drill.pk}/" in page
    form = client.get(f"/report/listing/{drill.pk}/")
    assert form.status_code == 200 and "Scam or fraud" in form.content.decode()
    response = client.post(f"/report/listing/{drill.pk}/", {"reason": "scam", "note": "Fake photos"})
    assert response.status_code == 302 and response["Location"] == drill.get_absolute_url()
    report = Report.objects.get()
    assert (report.reporter, report.target, report.reason, report.note) == (bob, drill, "scam", "Fake photos")
    assert report.target_owner == drill.owner and report.status == ReportStatus.OPEN
    received = Notification.objects.get(member=bob)
    assert received.kind == "report_received" and "Cordless drill" in received.text


def test_a_member_reports_another_member_from_their_profile(bob, alice):
    client = client_for(bob)
    assert f"/report/member/{alice.pk}/" in client.get(alice.get_absolute_url()).content.decode()
    client.post(f"/report/member/{alice.pk}/", {"reason": "harassment"})
    assert Report.objects.get().target == alice


def test_no_report_link_on_ones_own_listing_or_profile(alice, drill):
    client = client_for(alice)
    assert "/report/" not in client.get(drill.get_absolute_url()).content.decode()
    assert "/report/" not in client.get(alice.get_absolute_url()).content.decode()


def test_a_report_without_reason_is_refused_and_nothing_is_saved(bob, drill):
    response = client_for(bob).post(f"/report/listing/{drill.pk}/", {"note": "bad"})
    assert response.status_code == 400
    assert "Choose why you report it." in response.content.decode()
    assert not Report.objects.exists()


def test_an_unknown_reason_is_refused(bob, drill):
    response = client_for(bob).post(f"/report/listing/{drill.pk}/", {"reason": "boring"})
    assert response.status_code == 400 and not Report.objects.exists()


def test_reporting_ones_own_content_is_refused(alice, drill):
    response = client_for(alice).post(f"/report/listing/{drill.pk}/", {"reason": "spam"})
    assert response.status_code == 400
    assert "You cannot report your own content." in response.content.decode()
    response = client_for(alice).post(f"/report/member/{alice.pk}/", {"reason": "spam"})
    assert response.status_code == 400 and not Report.objects.exists()


@pytest.mark.parametrize("path", ["/report/listing/999999/", "/report/member/999999/",
                                  "/report/planet/1/", "/report/message/999999/"])
def test_reporting_something_that_does_not_exist_is_404(bob, path):
    assert client_for(bob).post(path, {"reason": "spam"}).status_code == 404
    assert not Report.objects.exists()


def test_a_removed_listing_cannot_be_reported_it_is_gone(bob, drill, moderator):
    services.listing_hide(listing=drill, by=moderator, reason="Scam")
    assert client_for(bob).get(f"/report/listing/{drill.pk}/").status_code == 404


def test_visitors_are_sent_to_log_in(client, drill):
    response = client.get(f"/report/listing/{drill.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_second_open_report_by_the_same_member_is_refused(bob, drill):
    client = client_for(bob)
    client.post(f"/report/listing/{drill.pk}/", {"reason": "scam"})
    response = client.post(f"/report/listing/{drill.pk}/", {"reason": "spam"})
    assert response.status_code == 400
    assert "You already reported this" in response.content.decode()
    assert Report.objects.count() == 1


def test_the_database_refuses_two_open_reports_too(bob, drill):
    services.report_create(reporter=bob, target=drill, reason="scam")
    first = Report.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.create(reporter=bob, content_type=first.content_type, object_id=drill.pk,
                              target_label="x", reason="spam")


def test_after_it_is_handled_the_member_may_report_again(bob, drill, moderator):
    report = services.report_create(reporter=bob, target=drill, reason="scam")
    services.report_dismiss(report=report, by=moderator, note="Looks fine")
    services.report_create(reporter=bob, target=drill, reason="scam", note="Again")
    assert Report.objects.count() == 2


def test_reports_on_the_same_target_group_together(bob, carol, alice, drill, moderator):
    services.report_create(reporter=bob, target=drill, reason="scam")
    services.report_create(reporter=carol, target=drill, reason="dangerous")
    services.report_create(reporter=bob, target=alice, reason="harassment")
    assert Report.objects.about(drill).count() == 2
    assert Report.objects.about(alice).count() == 1
    client = client_for(moderator)
    listing_page = client.get(f"/admin/moderation/report/?content_type__id__exact="
                              f"{Report.objects.about(drill).first().content_type_id}&object_id={drill.pk}")
    assert listing_page.status_code == 200
    assert listing_page.content.decode().count("Cordless drill") >= 2
    assert "harassment" not in listing_page.content.decode().lower().split("filter")[0]


def test_resolving_notifies_the_reporter_and_writes_the_audit_row(bob, drill, moderator):
    report = services.report_create(reporter=bob, target=drill, reason="scam")
    services.report_resolve(report=report, by=moderator, note="Listing removed")
    report.refresh_from_db()
    assert report.status == ReportStatus.RESOLVED and report.handled_by == moderator
    assert report.handled_at is not None and report.handling_note == "Listing removed"
    handled = Notification.objects.get(member=bob, kind="report_handled")
    assert "acted on your report" in handled.text
    row = ModerationAction.objects.get()
    assert (row.action, row.moderator, row.target, row.reason) == (
        ActionKind.REPORT_RESOLVE, moderator, report, "Listing removed")


@pytest.mark.parametrize("first, second", [("report_resolve", "report_dismiss"),
                                           ("report_dismiss", "report_resolve"),
                                           ("report_resolve", "report_resolve")])
def test_a_handled_report_cannot_be_handled_again(bob, drill, moderator, first, second):
    report = services.report_create(reporter=bob, target=drill, reason="scam")
    getattr(services, first)(report=report, by=moderator, note="Done")
    with pytest.raises(services.ModerationError, match="already handled"):
        getattr(services, second)(report=report, by=moderator, note="Again")
    assert ModerationAction.objects.count() == 1
    assert Notification.objects.filter(member=bob, kind="report_handled").count() == 1


def test_handling_a_report_needs_a_note(bob, drill, moderator):
    report = services.report_create(reporter=bob, target=drill, reason="scam")
    with pytest.raises(services.ModerationError):
        services.report_resolve(report=report, by=moderator, note="  ")
    report.refresh_from_db()
    assert report.is_open and not ModerationAction.objects.exists()


# --- Handling from the admin pages -----------------------------------------------------


def test_a_moderator_resolves_a_report_from_its_own_page(bob, drill, moderator):
    report = services.report_create(reporter=bob, target=drill, reason="scam")
    client = client_for(moderator)
    url = f"/admin/moderation/report/{report.pk}/change/"
    page = client.get(url).content.decode()
    assert "Resolve this report" in page and "Dismiss this report" in page

    refused = client.post(url, {"do": "resolve", "resolve-reason": " "})
    assert refused.status_code == 200  # the form again, with its error
    report.refresh_from_db()
    assert report.is_open and not ModerationAction.objects.exists()

    done = client.post(url, {"do": "resolve", "resolve-reason": "Listing hidden"})
    assert done.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.RESOLVED and report.handling_note == "Listing hidden"
    assert ModerationAction.objects.get().action == ActionKind.REPORT_RESOLVE
    assert "Resolve this report" not in client.get(url).content.decode()


def test_plain_staff_cannot_handle_a_report_from_its_page(bob, drill, plain_staff):
    report = services.report_create(reporter=bob, target=drill, reason="scam")
    response = client_for(plain_staff).post(f"/admin/moderation/report/{report.pk}/change/",
                                             {"do": "dismiss", "dismiss-reason": "No"})
    assert response.status_code in (302, 403)
    report.refresh_from_db()
    assert report.is_open and not ModerationAction.objects.exists()


def test_the_targets_page_handles_all_its_open_reports_at_once(bob, carol, drill, moderator):
    services.report_create(reporter=bob, target=drill, reason="scam")
    services.report_create(reporter=carol, target=drill, reason="spam")
    client = client_for(moderator)
    url = f"/admin/moderation/report/moderate/{Report.objects.first().content_type_id}/{drill.pk}/"
    assert "Dismiss them" in client.get(url).content.decode()

    response = client.post(url, {"do": "dismiss_reports", "dismiss-reason": "A fair price"})
    assert response.status_code == 302
    assert set(Report.objects.values_list("status", flat=True)) == {ReportStatus.DISMISSED}
    assert ModerationAction.objects.filter(action=ActionKind.REPORT_DISMISS).count() == 2
    assert Notification.objects.filter(kind="report_handled").count() == 2
    page = client.get(url).content.decode()
    assert "Dismiss them" not in page  # nothing open any more
    with pytest.raises(services.ModerationError):
        services.reports_on_target_handle(target=drill, by=moderator, note="x", resolve=True)
