"""The devices page: where a member is signed in, and signing any browser out."""

from __future__ import annotations

import asyncio

import pytest
from allauth.usersessions.models import UserSession
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from members.devices import describe_user_agent
from messaging import live
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0 Mobile Safari/537.36")
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.mark.parametrize(("agent", "expected"), [
    (PHONE, "Chrome on Android"),
    (LAPTOP, "Firefox on Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
     "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on macOS"),
    ("curl/8.5", "Unknown browser"),
])
def test_devices_are_named_from_their_browser(agent, expected):
    assert describe_user_agent(agent) == expected


def signed_in(member, agent: str, password: str) -> Client:
    browser = Client(HTTP_USER_AGENT=agent)
    response = browser.post(reverse("account_login"), {"login": member.email, "password": password})
    assert response.status_code == 302
    return browser


@pytest.fixture
def two_devices(member, password):
    return signed_in(member, PHONE, password), signed_in(member, LAPTOP, password)


def test_the_member_sees_each_signed_in_browser(member, two_devices):
    phone, _laptop = two_devices
    page = phone.get(reverse("members:devices")).content.decode()
    assert "Chrome on Android" in page
    assert "Firefox on Windows" in page
    assert "This device" in page
    assert UserSession.objects.filter(user=member).count() == 2


def test_signing_out_the_laptop_from_the_phone_ends_its_session(member, two_devices):
    phone, laptop = two_devices
    laptop_key = laptop.session.session_key
    device = UserSession.objects.get(session_key=laptop_key)
    response = phone.post(reverse("members:device-sign-out", args=[device.pk]))
    assert response.status_code == 302
    assert not Session.objects.filter(session_key=laptop_key).exists()
    assert laptop.get(reverse("members:devices")).status_code == 302  # back to log in
    assert phone.get(reverse("members:devices")).status_code == 200


def test_signing_out_closes_that_browsers_sockets(member, two_devices,
                                                  django_capture_on_commit_callbacks):
    phone, laptop = two_devices
    layer = get_channel_layer()
    device = UserSession.objects.get(session_key=laptop.session.session_key)

    def sign_the_laptop_out() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            phone.post(reverse("members:device-sign-out", args=[device.pk]))

    async def laptop_socket_hears() -> dict:
        # One event loop for the socket's whole life, as in a server process.
        laptop_socket = await layer.new_channel()
        await layer.group_add(live.session_group(laptop.session.session_key), laptop_socket)
        await sync_to_async(sign_the_laptop_out)()
        return await asyncio.wait_for(layer.receive(laptop_socket), timeout=5)

    message = async_to_sync(laptop_socket_hears)()
    assert message["type"] == "live.close"


def test_signing_out_all_others_keeps_this_one(member, two_devices, password):
    phone, laptop = two_devices
    third = signed_in(member, PHONE, password)
    phone.post(reverse("members:devices-sign-out-others"))
    assert phone.get(reverse("members:devices")).status_code == 200
    for other in (laptop, third):
        assert other.get(reverse("members:devices")).status_code == 302
    assert UserSession.objects.filter(user=member).count() == 1


def test_signing_out_here_signs_this_browser_out(member, two_devices):
    phone, _laptop = two_devices
    device = UserSession.objects.get(session_key=phone.session.session_key)
    response = phone.post(reverse("members:device-sign-out", args=[device.pk]))
    assert response.url == reverse("account_login")
    assert phone.get(reverse("members:devices")).status_code == 302


def test_another_members_device_is_404_and_stays_signed_in(member, two_devices, password):
    phone, _laptop = two_devices
    mallory = MemberFactory()
    intruder = signed_in(mallory, LAPTOP, password)
    device = UserSession.objects.get(session_key=phone.session.session_key)
    response = intruder.post(reverse("members:device-sign-out", args=[device.pk]))
    assert response.status_code == 404
    assert phone.get(reverse("members:devices")).status_code == 200
