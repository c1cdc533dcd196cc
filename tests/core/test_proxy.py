"""X-Forwarded-For is believed from nginx only (settings.TRUSTED_PROXIES), and a body
declared larger than REQUEST_MAX_BYTES is refused before anything reads it."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory

from core.proxy import ProxyMiddleware, client_ip
from core.ratelimit import limit_posts

TRUSTED = ["127.0.0.1", "::1"]


def test_a_direct_clients_forged_header_is_ignored():
    meta = {"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert client_ip(meta, TRUSTED) == "203.0.113.9"


def test_the_address_nginx_saw_is_used_when_nginx_sends_it():
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert client_ip(meta, TRUSTED) == "198.51.100.1"


def test_claims_left_of_the_trusted_proxy_are_not_believed():
    # A client sent "1.2.3.4" itself; a proxy that appends (not ours, which replaces)
    # would pass it along: only the rightmost untrusted address counts.
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 198.51.100.1"}
    assert client_ip(meta, TRUSTED) == "198.51.100.1"


def test_garbage_in_the_header_keeps_the_peer_address():
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "not-an-ip"}
    assert client_ip(meta, TRUSTED) == "127.0.0.1"


def _seen_address(settings, remote: str, forwarded: str) -> str:
    seen = {}

    def view(request):
        seen["ip"] = request.META["REMOTE_ADDR"]
        return HttpResponse("ok")

    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    ProxyMiddleware(view)(request)
    return seen["ip"]


def test_the_middleware_rewrites_the_address_only_behind_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = TRUSTED
    assert _seen_address(settings, "127.0.0.1", "198.51.100.7") == "198.51.100.7"
    assert _seen_address(settings, "203.0.113.9", "198.51.100.7") == "203.0.113.9"


def test_without_trusted_proxies_the_header_is_never_used(settings):
    settings.TRUSTED_PROXIES = []
    assert _seen_address(settings, "127.0.0.1", "198.51.100.7") == "127.0.0.1"


@pytest.mark.django_db
def test_per_ip_limits_count_the_real_client_not_a_forged_one(client, settings):
    """An anonymous poster who forges a new X-Forwarded-For on every request is still
    counted as the one address it comes from."""
    settings.TRUSTED_PROXIES = TRUSTED
    settings.PARTAGE_RATE_LIMITS = {**settings.PARTAGE_RATE_LIMITS, "report": "2/h"}

    @limit_posts("report")
    def view(request):
        return HttpResponse("ok")

    statuses = []
    for n in range(3):
        request = RequestFactory().post(
            "/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}"
        )
        request.user = AnonymousUser()
        statuses.append(ProxyMiddleware(view)(request).status_code)
    assert statuses == [200, 200, 429]


def test_a_body_declared_over_the_limit_is_refused_unread(settings):
    settings.REQUEST_MAX_BYTES = 1000
    called = []

    def view(request):
        called.append(True)
        return HttpResponse("ok")

    big = RequestFactory().post("/", data=b"x" * 10, content_type="application/octet-stream",
                                CONTENT_LENGTH="1001")
    assert ProxyMiddleware(view)(big).status_code == 413
    assert called == []
    small = RequestFactory().post("/", data=b"x" * 10, content_type="application/octet-stream")
    assert ProxyMiddleware(view)(small).status_code == 200


@pytest.mark.django_db
def test_django_refuses_through_the_whole_stack(client, settings):
    settings.REQUEST_MAX_BYTES = 1000
    response = client.post("/listings/new/", data=b"x" * 2000,
                           content_type="application/octet-stream")
    assert response.status_code == 413
