"""The websocket handshake through the real ASGI application: only a page of this site
(scheme, host and port all matching) opens a socket; the language cookie travels like
the session cookie."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings

from config.asgi import application
from tests.core.test_settings import ROOT, readme_production_settings
from tests.factories import MemberFactory
from tests.messaging.live_support import session_cookie, signed_in_client

pytestmark = pytest.mark.django_db(transaction=True)

WS = "/ws/notifications/"


def connects(*, origin: str | None, host: str = "localhost:8000", scheme: str = "ws",
             forwarded_proto: str | None = None) -> bool:
    """Whether a signed-in member's notification socket opens with these headers."""
    key = session_cookie(signed_in_client(MemberFactory()))
    headers = [(b"host", host.encode()),
               (b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    if forwarded_proto is not None:
        headers.append((b"x-forwarded-proto", forwarded_proto.encode()))

    async def scenario() -> bool:
        comm = WebsocketCommunicator(application, WS, headers=headers)
        comm.scope["scheme"] = scheme
        connected, _code = await comm.connect()
        await comm.disconnect()
        return connected

    return async_to_sync(scenario)()


@pytest.mark.parametrize("origin, host, accepted", [
    ("http://localhost:8000", "localhost:8000", True),
    ("http://LOCALHOST:8000", "localhost:8000", True),
    ("http://localhost", "localhost", True),
    ("http://localhost:80", "localhost", True),
    ("http://127.0.0.1:41234", "127.0.0.1:41234", True),  # a live server on a random port
    ("http://[::1]:8000", "[::1]:8000", True),
    # The same host name is not enough: scheme and port count.
    ("https://localhost:9999", "localhost:8000", False),
    ("http://localhost:9999", "localhost:8000", False),
    ("https://localhost:8000", "localhost:8000", False),
    ("http://localhost", "localhost:8000", False),
    ("http://127.0.0.1:8001", "localhost:8000", False),
    # Not an origin, or not ours.
    ("http://evil.example", "localhost:8000", False),
    ("http://localhost.evil.example:8000", "localhost:8000", False),
    ("null", "localhost:8000", False),
    ("ftp://localhost:8000", "localhost:8000", False),
    ("http://localhost:notaport", "localhost:8000", False),
    ("http://localhost:8000/path", "localhost:8000", False),
    ("", "localhost:8000", False),
    (None, "localhost:8000", False),
    # A Host that is not one of ALLOWED_HOSTS opens nothing, whatever the Origin says.
    ("http://evil.example", "evil.example", False),
])
def test_only_the_sites_own_origin_opens_a_socket(settings, origin, host, accepted):
    settings.SITE_URL = "https://partage.example"
    assert connects(origin=origin, host=host) is accepted


def test_a_socket_over_tls_belongs_to_the_https_page():
    assert connects(origin="https://localhost:8443", host="localhost:8443", scheme="wss")
    assert not connects(origin="http://localhost:8443", host="localhost:8443", scheme="wss")


def test_behind_the_proxy_its_forwarded_scheme_counts(settings):
    settings.ALLOWED_HOSTS = ["partage.example"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert connects(origin="https://partage.example", host="partage.example",
                    forwarded_proto="https")
    assert not connects(origin="http://partage.example", host="partage.example",
                        forwarded_proto="https")
    assert not connects(origin="https://partage.example", host="partage.example",
                        forwarded_proto="http")
    # Without BEHIND_PROXY the header is nobody's word.
    settings.SECURE_PROXY_SSL_HEADER = None
    assert not connects(origin="https://partage.example", host="partage.example",
                        forwarded_proto="https")


def test_site_url_and_csrf_trusted_origins_are_the_sites_too(settings):
    settings.ALLOWED_HOSTS = ["ws.partage.example"]
    settings.SITE_URL = "https://partage.example"
    settings.CSRF_TRUSTED_ORIGINS = ["https://*.apps.example", "http://other.example:8080"]
    host = "ws.partage.example"
    assert connects(origin="https://partage.example", host=host)
    assert connects(origin="https://m.apps.example", host=host)
    assert connects(origin="https://apps.example", host=host)
    assert connects(origin="http://other.example:8080", host=host)
    assert not connects(origin="http://partage.example", host=host)
    assert not connects(origin="http://m.apps.example", host=host)
    assert not connects(origin="https://evilapps.example", host=host)
    assert not connects(origin="http://other.example", host=host)


# --- The language cookie ------------------------------------------------------------------


def test_the_language_cookie_is_samesite_lax_and_httponly(client):
    response = client.post("/i18n/language/", {"language": "fr", "next": "/"})
    assert response.status_code == 302
    cookie = response.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "fr"
    assert cookie["samesite"] == "Lax"
    assert cookie["httponly"] is True
    assert bool(cookie["secure"]) is settings.SESSION_COOKIE_SECURE


DUMP_COOKIES = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({name: getattr(settings, name) for name in ("
    "'SESSION_COOKIE_SECURE', 'LANGUAGE_COOKIE_SECURE', 'LANGUAGE_COOKIE_SAMESITE', "
    "'LANGUAGE_COOKIE_HTTPONLY')}))"
)


@pytest.mark.parametrize("production", [True, False])
def test_the_language_cookie_is_secure_where_the_session_cookie_is(production):
    environment = {k: v for k, v in os.environ.items()
                   if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECURE_COOKIES"}}
    environment.update(readme_production_settings() if production else {},
                       DJANGO_SETTINGS_MODULE="config.settings")
    output = subprocess.run([sys.executable, "-c", DUMP_COOKIES], cwd=ROOT, env=environment,
                            capture_output=True, text=True, check=True).stdout
    values = json.loads(output.strip().splitlines()[-1])
    assert values["SESSION_COOKIE_SECURE"] is production
    assert values["LANGUAGE_COOKIE_SECURE"] is production
    assert values["LANGUAGE_COOKIE_SAMESITE"] == "Lax"
    assert values["LANGUAGE_COOKIE_HTTPONLY"] is True
