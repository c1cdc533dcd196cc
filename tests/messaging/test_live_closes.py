"""The server closes sockets whose session ended: signing out closes that browser's
sockets; a new password closes every socket of the member, on every device."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.urls import reverse

from messaging.live import CLOSE_SIGNED_OUT
from tests.factories import PASSWORD, MemberFactory
from tests.messaging.live_support import (
    communicator,
    receive_type,
    session_cookie,
    signed_in_client,
)

pytestmark = pytest.mark.django_db(transaction=True)

WS = "/ws/notifications/"


async def _open(key: str):
    comm = communicator(WS, session_key=key)
    assert (await comm.connect())[0]
    await receive_type(comm, "counts")
    return comm


async def _closed_with(comm, code: int, timeout: float = 3) -> bool:
    output = await comm.receive_output(timeout=timeout)
    return output == {"type": "websocket.close", "code": code}


def test_signing_out_closes_that_browsers_sockets_only():
    alice = MemberFactory()
    laptop = signed_in_client(alice)
    phone_key = session_cookie(signed_in_client(alice))
    laptop_key = session_cookie(laptop)

    async def scenario():
        laptop_tab_1 = await _open(laptop_key)
        laptop_tab_2 = await _open(laptop_key)
        phone = await _open(phone_key)
        response = await database_sync_to_async(laptop.post)(reverse("account_logout"))
        assert response.status_code == 302
        assert await _closed_with(laptop_tab_1, CLOSE_SIGNED_OUT)
        assert await _closed_with(laptop_tab_2, CLOSE_SIGNED_OUT)
        assert await phone.receive_nothing(timeout=0.3)
        await phone.disconnect()

    async_to_sync(scenario)()


def test_changing_the_password_closes_every_device():
    alice = MemberFactory()
    laptop = signed_in_client(alice)
    laptop_key = session_cookie(laptop)
    phone_key = session_cookie(signed_in_client(alice))
    bob_key = session_cookie(signed_in_client(MemberFactory()))

    async def scenario():
        sockets = [await _open(laptop_key), await _open(phone_key)]
        bobs = await _open(bob_key)
        response = await database_sync_to_async(laptop.post)(reverse("account_change_password"), {
            "oldpassword": PASSWORD,
            "password1": "a-brand-new-passphrase-77",
            "password2": "a-brand-new-passphrase-77",
        })
        assert response.status_code == 302
        for comm in sockets:
            assert await _closed_with(comm, CLOSE_SIGNED_OUT)
        assert await bobs.receive_nothing(timeout=0.3)
        await bobs.disconnect()

    async_to_sync(scenario)()


def test_a_password_set_anywhere_else_closes_the_sockets_too():
    """The admin, `changepassword` and a reset all end in set_password() and save()."""
    alice = MemberFactory()
    key = session_cookie(signed_in_client(alice))

    def change():
        alice.set_password("another-long-passphrase-31")
        alice.save()

    async def scenario():
        comm = await _open(key)
        await database_sync_to_async(change)()
        assert await _closed_with(comm, CLOSE_SIGNED_OUT)

    async_to_sync(scenario)()


def test_other_saves_of_the_member_close_nothing():
    alice = MemberFactory()
    key = session_cookie(signed_in_client(alice))

    def edit():
        alice.display_name = "Alice B."
        alice.save()

    async def scenario():
        comm = await _open(key)
        await database_sync_to_async(edit)()
        assert await comm.receive_nothing(timeout=0.3)
        await comm.disconnect()

    async_to_sync(scenario)()
