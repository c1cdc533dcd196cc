"""The settings module read in a fresh interpreter with a given environment."""

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DUMP = textwrap.dedent(
    """
    import json, django
    from django.conf import settings
    django.setup()
    db = settings.DATABASES["default"]
    print(json.dumps({
        "engine": db["ENGINE"], "name": str(db["NAME"]), "options": db.get("OPTIONS", {}),
        "layer": settings.CHANNEL_LAYERS["default"],
        "cache": settings.CACHES["default"]["BACKEND"],
        "email": settings.EMAIL_BACKEND, "debug": settings.DEBUG,
        "verification": settings.ACCOUNT_EMAIL_VERIFICATION,
        "media_root": str(settings.MEDIA_ROOT), "allowed_hosts": settings.ALLOWED_HOSTS,
    }, default=repr))
    """
)

CONTROLLED = ["DATABASE_URL", "REDIS_URL", "DEBUG", "EMAIL_BACKEND", "MEDIA_ROOT", "ALLOWED_HOSTS",
              "ACCOUNT_EMAIL_VERIFICATION", "SQLITE_PATH"]


def read_settings(**env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    output = subprocess.run(
        [sys.executable, "-c", DUMP], cwd=ROOT, env=environment, capture_output=True, text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def test_the_defaults_need_nothing_installed():
    config = read_settings()
    assert config["engine"] == "django.db.backends.sqlite3"
    assert config["layer"]["BACKEND"] == "config.layers.ProcessChannelLayer"
    assert config["cache"].endswith("LocMemCache")
    assert config["email"] == "django.core.mail.backends.console.EmailBackend"
    assert config["debug"] is False
    assert config["verification"] == "mandatory"


def test_sqlite_is_set_up_for_concurrent_writers():
    options = read_settings()["options"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]
    assert "busy_timeout" in options["init_command"]


def test_database_url_and_redis_url_switch_to_production_services():
    config = read_settings(
        DATABASE_URL="postgres://partage:secret@db.internal:5432/partage",
        REDIS_URL="redis://cache.internal:6379/1",
    )
    assert config["engine"] == "django.db.backends.postgresql"
    assert config["name"] == "partage"
    # Chosen by measurement (bench/chat.py): see config/settings.py.
    assert config["layer"]["BACKEND"] == "config.redis_layer.ResyncingPubSubChannelLayer"
    [host] = config["layer"]["CONFIG"]["hosts"]
    # With a retry: see config/redis_layer.py.
    assert host["address"] == "redis://cache.internal:6379/1"
    assert host["retry"].startswith("<redis.asyncio.retry.Retry")
    assert config["cache"] == "config.cache.SharedPoolRedisCache"


def test_debug_makes_email_verification_optional_for_local_runs(tmp_path):
    config = read_settings(DEBUG="true", MEDIA_ROOT=str(tmp_path), ALLOWED_HOSTS="partage.example")
    assert config["debug"] is True
    assert config["verification"] == "optional"
    assert config["media_root"] == str(tmp_path)
    assert config["allowed_hosts"] == ["partage.example"]


SQLITE_WRITERS = textwrap.dedent(
    """
    import threading, django
    django.setup()
    from django.db import connection, transaction
    with connection.cursor() as c:
        c.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER)")
        c.execute("INSERT INTO counter VALUES (1, 0)")
    connection.close()
    errors = []

    def writer():
        from django.db import connection
        try:
            for _ in range(40):
                # Read then write in one transaction: with DEFERRED transactions two
                # writers deadlock on the lock upgrade and one gets "database is locked".
                with transaction.atomic():
                    with connection.cursor() as c:
                        c.execute("SELECT n FROM counter WHERE id = 1")
                        n = c.fetchone()[0]
                        c.execute("UPDATE counter SET n = %s WHERE id = 1", [n + 1])
        except Exception as error:
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=writer) for _ in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    with connection.cursor() as c:
        c.execute("SELECT n FROM counter")
        print(c.fetchone()[0], len(errors), errors[:1])
    """
)


def test_two_members_writing_at_once_never_see_database_is_locked(tmp_path):
    environment = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    environment.update(DJANGO_SETTINGS_MODULE="config.settings", SQLITE_PATH=str(tmp_path / "w.db"))
    output = subprocess.run(
        [sys.executable, "-c", SQLITE_WRITERS], cwd=ROOT, env=environment, capture_output=True,
        text=True, check=True,
    ).stdout.strip()
    total, error_count, first_error = output.split(" ", 2)
    assert error_count == "0", first_error
    assert total == "160"  # no lost update either


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="runs with REDIS_URL set")
def test_the_configured_redis_channel_layer_carries_a_message():
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    assert type(layer).__name__ == "ResyncingPubSubChannelLayer"

    async def round_trip():
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "test.message", "text": "bonjour"})
        return await layer.receive(channel)

    # In a thread of its own: the browser tests' event loop may run in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(async_to_sync(round_trip)).result()["text"] == "bonjour"


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL")
def test_a_channel_idle_longer_than_the_blocking_read_keeps_waiting():
    """A socket quiet for longer than the layer's blocking reads and redis-py's default
    socket timeout (5 s each) still hears the next message: with RedisChannelLayer and
    redis-py 8 it failed with "Timeout reading" and closed the websocket (1011)."""
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def idle_then_receive():
        channel = await layer.new_channel()
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(6.5)  # longer than one blocking read
        assert not waiting.done(), waiting.exception()  # still waiting, not failed
        await layer.send(channel, {"type": "test.message", "text": "still here"})
        return await asyncio.wait_for(waiting, 5)

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(async_to_sync(idle_then_receive)).result()["text"] == "still here"


# --- check --deploy with the README's production settings ----------------------------

DEPLOY_PLACEHOLDERS = {
    "SECRET_KEY": "k9#Vq2!pX7zL0wR4tY8uE3iO6aS1dF5gH-jK_lZ+xC=vB.nM,qW^eR&tY*uI(oP)",
    "DATABASE_URL": "postgres://partage:secret@db.internal:5432/partage",
    "REDIS_URL": "redis://cache.internal:6379/1",
}


def readme_production_settings() -> dict[str, str]:
    """The variables of the README's "Production settings" block, placeholders filled."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("### Production settings", 1)[1].split("```", 2)[1]
    pairs = dict(token.split("=", 1) for token in block.split() if "=" in token)
    return {name: DEPLOY_PLACEHOLDERS.get(name, value) for name, value in pairs.items()}


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production does not.
    leave_out = {*CONTROLLED, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    environment = {k: v for k, v in os.environ.items() if k not in leave_out}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=environment, capture_output=True, text=True,
    )


def test_check_deploy_is_clean_with_the_readme_production_settings():
    settings = readme_production_settings()
    assert {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SECURE_HSTS_SECONDS"} <= settings.keys()
    result = check_deploy(**settings)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_the_development_defaults():
    result = check_deploy()
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout  # no HSTS
    assert "security.W009" in result.stderr + result.stdout  # the insecure SECRET_KEY
