"""Anonymous home, search and listing pages may be kept by a shared cache; nothing
personal ever is (core/cache_headers.py)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from listings.models import Status
from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def drill(db):
    return ListingFactory(title="Cordless drill")


def _public_urls(drill) -> list[str]:
    return [reverse("home"), reverse("listings:list"), reverse("listings:list") + "?q=drill",
            drill.get_absolute_url()]


def _directives(response) -> set[str]:
    return {part.strip() for part in response.get("Cache-Control", "").split(",")}


def _vary(response) -> set[str]:
    return {part.strip().lower() for part in response.get("Vary", "").split(",")}


def test_anonymous_pages_are_public_and_set_no_cookie(client, drill, settings):
    settings.PUBLIC_PAGES_MAX_AGE = 45
    for url in _public_urls(drill):
        response = client.get(url)

        assert response.status_code == 200, url
        assert {"public", "max-age=45"} <= _directives(response), url
        assert {"cookie", "accept-language", "hx-request"} <= _vary(response), url
        assert not response.cookies, url
        assert "Set-Cookie" not in response.headers, url
        body = response.content.decode()
        # No token of any visitor in HTML that a cache would hand to the next one.
        assert "csrfmiddlewaretoken" not in body and "X-CSRFToken" not in body, url


def test_the_search_fragment_for_htmx_is_public_too_and_kept_apart(client, drill):
    response = client.get(reverse("listings:list"), {"q": "drill"},
                          headers={"HX-Request": "true"})

    assert "<html" not in response.content.decode()
    assert "public" in _directives(response)
    assert "hx-request" in _vary(response)


def test_signed_in_pages_are_private(client, drill, bob):
    client.force_login(bob)
    for url in _public_urls(drill):
        response = client.get(url)

        assert response.status_code == 200, url
        assert {"private", "no-cache"} <= _directives(response), url
        assert "public" not in _directives(response), url
        assert "cookie" in _vary(response), url


def test_the_owner_of_a_paused_listing_gets_it_privately(client, drill):
    drill.status = Status.PAUSED
    drill.save()
    client.force_login(drill.owner)

    response = client.get(drill.get_absolute_url())

    assert response.status_code == 200
    assert "private" in _directives(response)


def test_a_missing_listing_is_not_public(client, drill):
    drill.status = Status.PAUSED
    drill.save()

    response = client.get(drill.get_absolute_url())

    assert response.status_code == 404
    assert "public" not in _directives(response)


def test_a_page_showing_a_message_is_private_and_the_next_one_public(client, bob):
    client.force_login(bob)
    client.post(reverse("account_logout"))

    with_message = client.get(reverse("home"))
    assert "signed out" in with_message.content.decode().lower()
    assert "public" not in _directives(with_message)
    assert {"private", "no-cache"} <= _directives(with_message)

    # The next page deletes the now empty session's cookie (SessionMiddleware, after the
    # view): a Set-Cookie, so the guard middleware keeps that response private too.
    after = client.get(reverse("home"))
    assert after.cookies
    assert "public" not in _directives(after)

    # A browser drops a deleted cookie; Django's test client keeps it, empty.
    assert after.cookies["sessionid"].value == ""
    del client.cookies["sessionid"]
    clean = client.get(reverse("home"))
    assert "public" in _directives(clean)
    assert not clean.cookies


def test_a_page_with_its_own_form_is_never_public(client, drill):
    # The login page carries a CSRF token: it is not one of the shared pages, and would
    # not be marked public if it were.
    response = client.get(reverse("account_login"))
    assert "public" not in _directives(response)


def test_anonymous_visitors_switch_language_without_a_token(drill):
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("language"), {"language": "fr", "next": "/"})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "fr"
    french = client.get(reverse("home"))
    assert 'lang="fr"' in french.content.decode()
    # The language chosen travels in a cookie: the response varies on it.
    assert "cookie" in _vary(french)


def test_the_language_switch_refuses_get(client):
    assert client.get(reverse("language"), {"language": "fr"}).status_code == 405
