"""Saved searches: saving (normalised, named, bounded), the pages (owner only), matching
a listing as it becomes active (live notification, once, bounded queries) and the daily
email digest (one email per member, idempotent)."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import geo
from listings import saved_searches, services
from listings.models import Kind, SavedSearch, SavedSearchMatch, Status, Terms
from listings.services import ListingData
from members.models import ConsentRecord
from members.services import member_set_consent, member_share_location
from messaging.models import Notification, NotificationKind
from tests.factories import MemberFactory, category

pytestmark = pytest.mark.django_db

ANNECY = geo.find_town("Annecy")
LYON = geo.find_town("Lyon")


def item(**changes) -> ListingData:
    data = ListingData(
        terms=Terms.LEND, title="Cordless drill", description="Two batteries, a case.",
        category=category("power-tools"), condition="good", place=ANNECY.point,
        place_name=ANNECY.label,
    )
    return replace(data, **changes)


def save(member, query: str, notify_email: bool = False) -> SavedSearch:
    search, _ = saved_searches.saved_search_create(
        member=member, data=QueryDict(query), notify_email=notify_email
    )
    return search


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """Create a listing the way the form does, running the after-commit announcements."""
    def run(owner, **changes):
        with django_capture_on_commit_callbacks(execute=True):
            return services.listing_create(owner=owner, kind=Kind.ITEM, data=item(**changes))

    return run


def matches_for(member) -> list[Notification]:
    return list(Notification.objects.filter(member=member, kind=NotificationKind.SAVED_SEARCH_MATCH))


# -- saving ---------------------------------------------------------------------------------


def test_the_querystring_is_normalised_and_named(member):
    search = save(member, "sort=price&page=3&q=drill&kind=item&category=tools&near=Annecy"
                          "&price_max=20&terms=")
    assert search.querystring == "category=tools&kind=item&near=Annecy&price_max=20&q=drill&radius=10"
    assert search.name == "drill · Tool or item · Tools · up to 20 € · within 10 km of Annecy (FR)"
    assert search.kind == "item" and search.category.slug == "tools"
    assert search.price_max_cents == 2000


def test_values_the_search_could_not_use_are_dropped(member):
    search = save(member, "q=ladder&near=Zzyzxqville&price_min=abc")
    assert search.querystring == "q=ladder"


def test_a_search_without_any_filter_is_refused(member):
    with pytest.raises(ValidationError):
        save(member, "sort=newest&page=2")
    assert not SavedSearch.objects.exists()


def test_saving_the_same_search_again_only_updates_the_email_choice(member):
    first = save(member, "q=drill&sort=newest")
    again, created = saved_searches.saved_search_create(
        member=member, data=QueryDict("q=drill"), notify_email=True
    )
    assert not created and again.pk == first.pk and again.notify_email
    assert SavedSearch.objects.count() == 1


def test_a_member_keeps_at_most_the_limit(member):
    for n in range(saved_searches.MAX_SAVED_SEARCHES):
        save(member, f"q=thing{n}")
    with pytest.raises(ValidationError):
        save(member, "q=one-too-many")


# -- pages ------------------------------------------------------------------------------------


def test_the_results_offer_to_save_a_filtered_search(member_client):
    page = member_client.get(reverse("listings:list"), {"q": "drill"})
    assert b"Save this search" in page.content
    assert b"Save this search" not in member_client.get(reverse("listings:list")).content


def test_visitors_are_not_offered_it_and_cannot_post(client):
    assert b"Save this search" not in client.get(reverse("listings:list"), {"q": "x"}).content
    response = client.post(reverse("listings:saved-create"), {"query": "q=drill"})
    assert response.status_code == 302 and reverse("account_login") in response["Location"]
    assert not SavedSearch.objects.exists()


def test_saving_from_the_results_page(member_client, member):
    response = member_client.post(reverse("listings:saved-create"),
                                  {"query": "q=drill&page=2", "notify_email": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("listings:saved")
    search = SavedSearch.objects.get(owner=member)
    assert search.querystring == "q=drill" and search.notify_email
    listing_page = member_client.get(reverse("listings:saved"))
    assert "drill" in listing_page.content.decode()


def test_an_empty_search_is_refused_with_a_message(member_client):
    response = member_client.post(reverse("listings:saved-create"), {"query": "sort=price"},
                                  follow=True)
    assert "Choose at least one filter" in response.content.decode()
    assert not SavedSearch.objects.exists()


def test_saving_needs_post(member_client):
    assert member_client.get(reverse("listings:saved-create")).status_code == 405


def test_only_the_owner_sees_and_deletes_a_saved_search(member_client, member, other_member):
    mine = save(member, "q=drill")
    theirs = save(other_member, "q=ladder")
    page = member_client.get(reverse("listings:saved")).content.decode()
    assert "drill" in page and "ladder" not in page
    assert member_client.post(reverse("listings:saved-delete", args=[theirs.pk])).status_code == 404
    assert SavedSearch.objects.filter(pk=theirs.pk).exists()
    assert member_client.post(reverse("listings:saved-delete", args=[mine.pk])).status_code == 302
    assert not SavedSearch.objects.filter(pk=mine.pk).exists()


# -- matching -------------------------------------------------------------------------------


def test_a_matching_new_listing_notifies_the_saver(post, member, other_member):
    save(other_member, "q=drill&near=Annecy")
    listing = post(member)
    [notification] = matches_for(other_member)
    assert notification.url == listing.get_absolute_url()
    assert notification.text == (
        "New listing for your search “drill · within 10 km of Annecy (FR)”: “Cordless drill”."
    )


@pytest.mark.parametrize("query", [
    "q=ladder", "kind=ride", "terms=sell", "category=garden", "price_min=5",
    "near=Lyon", "q=drill -batteries",
])
def test_a_listing_that_does_not_match_notifies_nobody(post, member, other_member, query):
    save(other_member, query)
    post(member)
    assert matches_for(other_member) == []


def test_a_parent_category_matches_its_children(post, member, other_member):
    save(other_member, "category=tools")
    post(member)
    assert len(matches_for(other_member)) == 1


def test_near_me_means_the_savers_own_area(post, member):
    near = member_share_location(member=MemberFactory(), town="Annecy")
    far = member_share_location(member=MemberFactory(), town="Lyon")
    save(near, "near=me")
    save(far, "near=me")
    post(member)
    assert len(matches_for(near)) == 1 and matches_for(far) == []


def test_ones_own_listing_and_inactive_savers_are_left_out(post, member, other_member):
    save(member, "q=drill")
    save(other_member, "q=drill")
    other_member.is_active = False
    other_member.save(update_fields=["is_active"])
    post(member)
    assert not Notification.objects.filter(kind=NotificationKind.SAVED_SEARCH_MATCH).exists()


def test_publishing_again_does_not_announce_it_twice(post, member, other_member,
                                                     django_capture_on_commit_callbacks):
    save(other_member, "q=drill")
    listing = post(member)
    for status in (Status.PAUSED, Status.ACTIVE):
        with django_capture_on_commit_callbacks(execute=True):
            services.listing_set_status(listing=listing, by=member, status=status)
    assert len(matches_for(other_member)) == 1
    assert SavedSearchMatch.objects.count() == 1


def test_a_paused_listing_published_later_is_announced_then(post, member, other_member,
                                                            django_capture_on_commit_callbacks):
    listing = post(member)
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_set_status(listing=listing, by=member, status=Status.PAUSED)
    save(other_member, "q=drill")
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_set_status(listing=listing, by=member, status=Status.ACTIVE)
    assert len(matches_for(other_member)) == 1


def _searches(count: int) -> None:
    savers = [MemberFactory() for _ in range(count // saved_searches.MAX_SAVED_SEARCHES + 1)]
    for n in range(count):
        saver = savers[n % len(savers)]
        # Every one passes the SQL narrowing (same kind and category), so each is
        # replayed through its filter; none matches the words.
        SavedSearch.objects.create(owner=saver, name=f"s{n}", kind="item",
                                   querystring=f"category=power-tools&kind=item&q=nomatch{n}")


def _queries_to_match(listing) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert saved_searches.saved_search_record_matches(listing=listing) == []
    return len(captured)


def test_matching_costs_a_bounded_number_of_queries(member):
    listing = services.listing_create(owner=member, kind=Kind.ITEM, data=item())
    _searches(20)
    few = _queries_to_match(listing)
    _searches(180)
    many = _queries_to_match(listing)
    # One more EXISTS query per MATCH_CHUNK searches; nothing per search.
    assert many <= few + 200 // saved_searches.MATCH_CHUNK
    assert many <= 10


# -- daily digest ----------------------------------------------------------------------------


def test_the_digest_sends_one_email_per_member_once(post, member):
    saver = MemberFactory(display_name="Chloé")
    save(saver, "q=drill", notify_email=True)
    save(saver, "category=tools", notify_email=True)
    quiet = MemberFactory()
    save(quiet, "q=drill", notify_email=False)
    post(member)
    post(member, title="Hammer drill")
    call_command("saved_search_digest", stdout=io.StringIO())
    [email] = mail.outbox
    assert email.to == [saver.email]
    assert "Hammer drill" in email.body and "Cordless drill" in email.body
    assert reverse("listings:saved") in email.body
    call_command("saved_search_digest", stdout=io.StringIO())
    assert len(mail.outbox) == 1


def test_the_digest_respects_a_withdrawn_email_consent(post, member):
    saver = MemberFactory()
    save(saver, "q=drill", notify_email=True)
    member_set_consent(member=saver, kind=ConsentRecord.Kind.EMAIL, granted=False)
    post(member)
    call_command("saved_search_digest", stdout=io.StringIO())
    assert mail.outbox == []


def test_a_listing_gone_by_digest_time_is_left_out(post, member, django_capture_on_commit_callbacks):
    saver = MemberFactory()
    save(saver, "q=drill", notify_email=True)
    listing = post(member)
    services.listing_set_status(listing=listing, by=member, status=Status.CLOSED)
    call_command("saved_search_digest", stdout=io.StringIO())
    assert mail.outbox == []
