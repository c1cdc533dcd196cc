"""Every page carries a strict Content Security Policy, and no page needs more."""

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split("; ")}


def test_pages_carry_a_strict_policy(client):
    response = client.get(reverse("home"))
    policy = directives(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "camera=()" in response.headers["Permissions-Policy"]


def test_error_pages_and_admin_carry_it_too(client):
    assert "Content-Security-Policy" in client.get("/no-such-page/").headers
    assert "Content-Security-Policy" in client.get("/admin/login/").headers


@pytest.mark.parametrize("name", ["home", "listings:list", "account_login", "account_signup"])
def test_our_pages_have_no_inline_script_or_handler(client, name):
    """An inline script or on* handler would be refused by the browser under the CSP."""
    html = client.get(reverse(name)).content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    assert not re.search(r"\son[a-z]+=\"", html)
    assert ' style="' not in html


def test_media_host_is_allowed_for_images_when_media_lives_elsewhere(settings, client):
    settings.MEDIA_URL = "https://media.partage.example/"
    response = client.get(reverse("home"))
    assert "https://media.partage.example" in directives(response)["img-src"]


def test_payment_forms_may_go_to_stripe_checkout(client):
    assert "https://checkout.stripe.com" in directives(client.get(reverse("home")))["form-action"]
