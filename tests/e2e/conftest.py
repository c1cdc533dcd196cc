"""Browser journeys: Playwright's Python API drives Debian's Chromium (never a
downloaded browser) against pytest-django's live server."""

import os
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    # Locally the journeys are skipped without Chromium; CI installs it and must run them.
    if os.environ.get("CI"):
        raise pytest.UsageError("CI needs /usr/bin/chromium for the browser tests")
    skip = pytest.mark.skip(reason="Debian's chromium is not installed (apt-get install chromium)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A phone-sized window: the app is used mostly on phones.
    return {
        **browser_context_args,
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "en-GB",
    }


@pytest.fixture
def screenshot(page, output_path):
    """Save a full-page screenshot under the test's output folder."""
    folder = Path(output_path)
    folder.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture(autouse=True)
def _category_tree(transactional_db):
    """Transactional tests flush the tree the data migration seeded; every journey
    starts with it in place."""
    from tests.factories import category

    category()


@pytest.fixture(autouse=True)
def _sockets_closed_before_flush(_category_tree):
    """After a journey, wait for the server to finish with the browser's sockets before
    the database is flushed. Set up after _category_tree and before the browser
    fixtures, it is torn down after the browser context closed and before the flush: a
    socket closing deletes its presence row, and on the shared in-memory SQLite
    database a write in flight makes the flush fail at once ("database table is
    locked") instead of waiting."""
    yield
    from django.db import OperationalError

    from messaging.models import SocketPresence

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if not SocketPresence.objects.exists():
                return
        except OperationalError:  # the table is being written right now
            pass
        time.sleep(0.05)


@pytest.fixture
def page(page):
    """The same page, watched: a script, style or connection the Content Security Policy
    refuses fails the journey (it would silently break the feature in production)."""
    refused: list[str] = []

    def watch(message) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", watch)
    yield page
    assert not refused, f"refused by the CSP: {refused}"


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    """The project's ASGI application (HTTP and websockets, static files included) in
    daphne on a free port, for journeys that need live sockets: pytest-django's live
    server speaks WSGI only. Twisted's reactor runs once per process, so one server
    serves the whole session; it shares the test database like the live server."""
    from daphne.server import Server  # installs the asyncio reactor first
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from twisted.internet import reactor

    from config.asgi import application

    ready = threading.Event()
    server = Server(
        application=ASGIStaticFilesHandler(application),
        endpoints=["tcp:port=0:interface=127.0.0.1"],
        signal_handlers=False,
        ready_callable=ready.set,
        verbosity=0,
    )
    thread = threading.Thread(target=server.run, daemon=True)
    with django_db_blocker.unblock():
        thread.start()
        assert ready.wait(10), "daphne did not start"
        for _ in range(100):
            if server.listening_addresses:
                break
            threading.Event().wait(0.05)
        host, port = server.listening_addresses[0]
        yield f"http://localhost:{port}"
        reactor.callFromThread(reactor.stop)
        thread.join(5)
