import os
import uuid

import pytest
from django.utils import translation

from tests.factories import PASSWORD, MemberFactory

# The fake Stripe server and its fixtures (fake_stripe, stripe_client).
pytest_plugins = ["tests.fake_stripe.conftest_plugin"]

# Connections the test process's pool may hold (see django_db_setup below).
TEST_POOL_MAX = 32

# Playwright's sync API runs an event loop in the test thread; Django must still allow
# the ORM calls the tests make there (ARCHITECTURE.md, browser tests).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings, tmp_path_factory):
    """On SQLite the test database is a file, as `make run`'s is, not Django's shared
    in-memory database: there, two connections that write at once fail at once
    ("database table is locked": shared-cache table locks ignore the busy timeout),
    which the browser tests' servers and socket threads hit now and then, where a file
    makes the second writer wait like in production."""
    from django.conf import settings

    for db_settings in settings.DATABASES.values():
        if db_settings["ENGINE"] == "django.db.backends.sqlite3":
            test = db_settings.setdefault("TEST", {})
            test.setdefault("NAME", str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3"))


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's, ending the test database's other connections before it drops
    the database: those of the socket database threads, of the browser tests' server
    and of Channels' executor threads, each held by a thread this one cannot close.

    With PostgreSQL's pool (config/settings.py), the test process gets a larger one:
    its race tests run up to a dozen threads that each keep a connection for their
    whole work, like a dozen web workers, where a worker process has only a few."""
    from django.db import connection as default_connection

    pool = default_connection.settings_dict["OPTIONS"].get("pool")
    if pool:
        pool["max_size"] = max(pool.get("max_size", 4), TEST_POOL_MAX)
        with django_db_blocker.unblock():
            default_connection.close()
            default_connection.close_pool()  # rebuilt with the size above when next used
    yield
    from django.db import connection

    from messaging.sockets import socket_db_threads

    socket_db_threads.close_connections()
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            connection.close()


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    """Each test writes media to its own folder, uses plain static storage (no
    collectstatic needed) and keeps emails in memory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Admin tests of each app sign in staff without TOTP; tests/moderation turns it on.
    settings.ADMIN_REQUIRE_2FA = False


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """allauth counts attempts (sign-ups, log-ins, emails) in the cache; a count left by
    one test must not throttle the next. Each test gets a private in-memory cache, so
    nothing ever flushes a Redis that other runs may share."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"test-{uuid.uuid4().hex}",
        }
    }


@pytest.fixture
def production_redis_cache(settings, _private_cache):
    """The cache production uses with REDIS_URL (config/settings.py), under keys of this
    test only; skipped without REDIS_URL (the PostgreSQL + Redis run has it)."""
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL")
    settings.CACHES = {"default": {
        "BACKEND": os.environ.get("TEST_CACHE_BACKEND", "config.cache.SharedPoolRedisCache"),
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }}


@pytest.fixture(autouse=True)
def _english_after_each_test(settings):
    """A request in French switches the thread's language; the next test starts in the
    default language again."""
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def password() -> str:
    return PASSWORD


# Older modules' names for alice and bob (below).
@pytest.fixture
def member(alice):
    return alice


@pytest.fixture
def other_member(bob):
    return bob


@pytest.fixture
def member_client(client, member):
    client.force_login(member)
    return client


# The cast of most test modules, each a plain member with a display name.
@pytest.fixture
def alice(db):
    return MemberFactory(display_name="Alice")


@pytest.fixture
def bob(db):
    return MemberFactory(display_name="Bob")


@pytest.fixture
def carol(db):
    return MemberFactory(display_name="Carol")


@pytest.fixture
def dave(db):
    return MemberFactory(display_name="Dave")


@pytest.fixture
def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    """Browser journeys run last: Playwright's sync API leaves an event loop in the main
    thread, after which async_to_sync (used by the websocket tests) refuses to run."""
    items.sort(key=lambda item: "e2e" in item.keywords)
