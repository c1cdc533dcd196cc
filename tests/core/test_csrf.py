"""Every form post needs the CSRF token: a member's browser tricked by another site
into posting gets 403 and nothing happens.

The sweep walks the URL configuration like the access sweep: each URL, object URLs
with the rightful member's own objects, is posted to without a token by a signed-in
member. Only the Stripe webhook (Stripe signs it instead) and the menu's language
switch (a forged post only changes the language; core/language.py) are exempt.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from members.models import ConsentRecord, Member
from tests.core.test_access_sweep import ROUTES, world  # noqa: F401  (world: a fixture)

pytestmark = pytest.mark.django_db

# Signed by the sender instead of a CSRF token; and the language switch, which a shared
# cache could not keep pages for if it needed a token (core/language.py).
EXEMPT = {"stripe-webhook", "language"}
# Patterns with a converter that is not an object id.
ARGUMENTS = {
    "listings:create-kind": {"kind": "lend"},
    "members:export-download": {"token": "x"},
    "account_confirm_email": {"key": "x"},
    "account_reset_password_from_key": {"uidb36": "x", "key": "x"},
}


def _all_url_names(patterns, namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or ""
            full = f"{namespace}:{inner}" if namespace and inner else (inner or namespace)
            yield from _all_url_names(pattern.url_patterns, full)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def swept_url_names() -> list[str]:
    names = set(_all_url_names(get_resolver().url_patterns))
    return sorted(n for n in names if not n.startswith(("admin:", "djdt")) and n not in EXEMPT)


def _url(name: str, objects: dict) -> str:
    if name in ROUTES:
        return reverse(name, kwargs=ROUTES[name][0](objects))
    return reverse(name, kwargs=ARGUMENTS.get(name, {}))


@pytest.fixture
def csrf_client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.mark.parametrize("name", swept_url_names())
def test_a_post_without_the_token_is_refused(name, world, csrf_client):  # noqa: F811
    rightful = ROUTES[name][1] if name in ROUTES else "alice"
    csrf_client.force_login(getattr(world, rightful))
    response = csrf_client.post(_url(name, world.objects), {"anything": "1"})
    assert response.status_code == 403, f"POST {name} without a token answered {response.status_code}"


def test_the_refusal_changes_nothing_and_the_token_lets_the_same_post_through(csrf_client):
    member = Member.objects.create_user(email="carol@example.com", password="x" * 12)
    csrf_client.force_login(member)
    url = reverse("members:consent")
    form = {"kind": ConsentRecord.Kind.EMAIL, "granted": "no"}

    assert csrf_client.post(url, form).status_code == 403
    member.refresh_from_db()
    assert member.email_consent and not ConsentRecord.objects.exists()

    page = csrf_client.get(reverse("members:my-data")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert csrf_client.post(url, {**form, "csrfmiddlewaretoken": token}).status_code == 302
    member.refresh_from_db()
    assert member.email_consent is False


def test_a_forged_token_is_refused(csrf_client, member):
    csrf_client.force_login(member)
    csrf_client.get(reverse("members:my-data"))
    response = csrf_client.post(reverse("members:consent"), {
        "kind": ConsentRecord.Kind.EMAIL, "granted": "no",
        "csrfmiddlewaretoken": "A" * 64,
    })
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.email_consent
