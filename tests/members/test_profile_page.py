"""/members/<pk>/: the public profile."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from members.models import ConsentRecord
from members.services import member_set_consent, member_share_location, member_update_profile
from tests.factories import ListingFactory, MemberFactory, RideFactory, image_upload


def _url(member) -> str:
    return reverse("members:profile", args=[member.pk])


@pytest.fixture
def client(client, db):
    """What a profile shows, as a signed-in member sees it (visitors see it only with
    the member's consent: see the consent tests at the end)."""
    client.force_login(MemberFactory(display_name="Viewer"))
    return client


def test_a_member_sees_another_members_profile(client, member):
    member.bio = "I lend tools.\nAsk me anything."
    member.languages = "French, Italian"
    member.save()
    response = client.get(_url(member))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Alice" in html
    assert "Vieille Ville" in html
    assert "French, Italian" in html
    assert "I lend tools.<br>Ask me anything." in html
    assert f"Member since {timezone.localtime(member.date_joined):%B %Y}" in html
    assert 'class="site-header"' in html


def test_it_shows_the_initial_when_there_is_no_photo(client, member):
    response = client.get(_url(member))
    assert b'<span class="avatar avatar-large" aria-hidden="true">A</span>' in response.content


def test_it_shows_the_photo_thumbnail(client, member):
    member_update_profile(member=member, display_name="Alice", bio="", neighbourhood="",
                          languages="", avatar=image_upload())
    member.refresh_from_db()
    response = client.get(_url(member))
    assert member.avatar_thumbnail.url.encode() in response.content


def test_it_lists_only_the_members_visible_listings(client, member, other_member):
    active = ListingFactory(owner=member, title="Orbital sander")
    paused = ListingFactory(owner=member, title="Paused ladder", status="paused")
    closed = ListingFactory(owner=member, title="Closed mower", status="closed")
    gone = RideFactory(owner=member, title="Yesterday's ride",
                       departs_at=timezone.now() - timedelta(days=1))
    someone_elses = ListingFactory(owner=other_member, title="Bob's chainsaw")
    response = client.get(_url(member))
    html = response.content.decode()
    assert active.title in html
    assert f'id="listing-{active.pk}"' in html
    for hidden in (paused, closed, gone, someone_elses):
        assert hidden.title not in html
    assert "1 active listing" in html


def test_it_says_when_there_is_no_listing(client, member):
    response = client.get(_url(member))
    assert b"has no active listing right now" in response.content


def test_it_pages_long_lists_of_listings(client, member, settings):
    settings.LISTINGS_PAGE_SIZE = 2
    ListingFactory.create_batch(3, owner=member)
    first = client.get(_url(member))
    assert len(first.context["listings"]) == 2
    second = client.get(_url(member) + "?page=2")
    assert len(second.context["listings"]) == 1


def test_it_answers_404_for_an_inactive_member(client, db):
    gone = MemberFactory(is_active=False)
    assert client.get(_url(gone)).status_code == 404


def test_it_answers_404_for_an_unknown_member(client, db):
    assert client.get(reverse("members:profile", args=[987654])).status_code == 404


def test_it_never_shows_the_exact_coordinates(client, member):
    member_share_location(member=member, lat=45.899234, lng=6.129456)
    member.refresh_from_db()
    assert member.home_lat == 45.899234  # stored privately...
    response = client.get(_url(member))
    html = response.content.decode()
    assert "near Annecy (FR)" in html
    for fragment in ("45.899234", "45.89923", "45.8992", "6.129456", "6.12945", "6.1294",
                     "45,8992", "6,1294"):
        assert fragment not in html  # ...and never published


def test_it_shows_no_area_without_a_shared_location(client, member):
    response = client.get(_url(member))
    assert b"Area" not in response.content


def test_it_offers_the_owner_an_edit_link(member_client, member, other_member):
    mine = member_client.get(_url(member))
    assert reverse("members:edit").encode() in mine.content.split(b"<main")[1]
    theirs = member_client.get(_url(other_member))
    assert b"Edit my profile" not in theirs.content


def test_it_shows_no_made_up_trust_figures(client, member):
    html = client.get(_url(member)).content.decode().lower()
    for word in ("rating", "exchanges completed", "hours given", "hours received"):
        assert word not in html


# --- Who sees it: the profile consent ------------------------------------------------


@pytest.fixture
def visitor() -> Client:
    return Client()


def test_a_visitor_is_asked_to_sign_in_by_default(visitor, member):
    member.bio = "I lend tools."
    member.save()
    response = visitor.get(_url(member))
    assert response.status_code == 200
    html = response.content.decode()
    assert "signed-in members only" in html
    assert "Alice" not in html and "I lend tools." not in html
    assert reverse("account_login") in html


def test_a_visitor_sees_the_profile_once_the_member_consents(visitor, member):
    member_set_consent(member=member, kind=ConsentRecord.Kind.PUBLIC_PROFILE, granted=True)
    html = visitor.get(_url(member)).content.decode()
    assert "Alice" in html
    member_set_consent(member=member, kind=ConsentRecord.Kind.PUBLIC_PROFILE, granted=False)
    assert "Alice" not in visitor.get(_url(member)).content.decode()
