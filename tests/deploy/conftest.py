"""The production topology (deploy/serve.py: nginx, gunicorn, two daphne workers) started
once for the tests of this folder, on the test database and a Redis prefix of its own.

Needs PostgreSQL (the workers are other processes: they must see the test database,
which SQLite keeps in this process's memory), REDIS_URL and nginx; skipped otherwise,
and run by the PostgreSQL + Redis pass of .ci/run. Tests here are transactional, so
what they create is committed and the workers see it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 90
# Sized small on purpose, so a leak shows within 64 requests: per process, at most this
# many pooled connections plus the health probe's own one.
POOL_MAX = 3
HTTP_WORKERS = 2
HTTP_THREADS = 3
WS_WORKERS = 2


def _needs() -> str | None:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "needs PostgreSQL (DATABASE_URL)"
    if not os.environ.get("REDIS_URL"):
        return "needs REDIS_URL"
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        return "needs nginx"
    return None


def database_url(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "127.0.0.1"
    return f"postgres://{auth}{host}:{settings_dict.get('PORT') or 5432}/{settings_dict['NAME']}"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def topology(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start deploy/serve.py on the test database; yield its state (ports, pids, run
    folder, database URL); stop it, and check that every process it started is gone."""
    reason = _needs()
    if reason:
        pytest.skip(reason)
    from django.db import connection

    with django_db_blocker.unblock():
        url = database_url(connection.settings_dict)
    run_dir = tmp_path_factory.mktemp("topology")
    state_file = run_dir / "state.json"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_PREFIX": f"test-topology-{uuid.uuid4().hex[:8]}",
        "DATABASE_POOL_MAX": str(POOL_MAX),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "deploy" / "serve.py"), "--port", str(free_port()),
         "--http-workers", str(HTTP_WORKERS), "--http-threads", str(HTTP_THREADS),
         "--ws-workers", str(WS_WORKERS), "--run-dir", str(run_dir / "run"),
         "--state-file", str(state_file), "--no-migrate"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not state_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            output = process.communicate()[0].decode(errors="replace")
            pytest.fail(f"serve.py did not start:\n{output[-3000:]}")
        time.sleep(0.2)
    state = json.loads(state_file.read_text())
    state["database_url"] = url
    state["database"] = connection.settings_dict["NAME"]
    try:
        yield state
    finally:
        process.send_signal(signal.SIGINT)  # what Ctrl+C sends
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for name, pid in state["pids"].items():
            assert not Path(f"/proc/{pid}").exists() or _is_zombie(pid), f"{name} still runs"


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def get(url: str, *, timeout: float = 30, headers: dict | None = None):
    """(status, headers, body) of a GET, redirects not followed; error statuses
    returned, not raised."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def connection_counts(dsn: str, database: str) -> dict[str, int]:
    """PostgreSQL's client connections to `database`, by application name."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity"
            " WHERE datname = %s AND backend_type = 'client backend'"
            " AND pid <> pg_backend_pid() GROUP BY application_name",
            [database],
        ).fetchall()
    return dict(rows)
