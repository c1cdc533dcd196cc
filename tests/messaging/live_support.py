"""Helpers for the live (websocket) tests: a signed-in browser and its sockets."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application


def signed_in_client(member) -> Client:
    client = Client()
    client.force_login(member)
    return client


def session_cookie(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def communicator(path: str, *, session_key: str | None = None, language: str | None = None,
                 accept_language: str | None = None,
                 origin: str = "http://localhost") -> WebsocketCommunicator:
    cookies = []
    if session_key:
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session_key}")
    if language:
        cookies.append(f"{settings.LANGUAGE_COOKIE_NAME}={language}")
    headers = [(b"origin", origin.encode()), (b"host", b"localhost")]
    if cookies:
        headers.append((b"cookie", "; ".join(cookies).encode()))
    if accept_language:
        headers.append((b"accept-language", accept_language.encode()))
    return WebsocketCommunicator(application, path, headers=headers)


async def receive_type(comm: WebsocketCommunicator, kind: str, timeout: float = 3) -> dict[str, Any]:
    """The next frame of this type (frames of other types before it are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no {kind!r} frame within {timeout}s")
        frame = await comm.receive_json_from(timeout=remaining)
        if frame.get("type") == kind:
            return frame


async def send_text(comm: WebsocketCommunicator, text: str) -> None:
    await comm.send_to(text_data=text)


async def send_json(comm: WebsocketCommunicator, frame: dict) -> None:
    await comm.send_to(text_data=json.dumps(frame))
