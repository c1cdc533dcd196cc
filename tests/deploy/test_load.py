"""Under 64 concurrent requests, PostgreSQL never sees more connections from a worker
than its pool allows (plus the health probe's own one), they go back to the pool
afterwards, and /healthz keeps answering 200.

Against the topology's real servers (tests/deploy/conftest.py): the WSGI server
(gunicorn, straight at its port), one ASGI server (a daphne worker, straight at its
port: Django over ASGI runs each request in a thread of its own, where per-thread
connections once piled up), and nginx in front of both."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.deploy.conftest import (
    HTTP_WORKERS,
    POOL_MAX,
    WS_WORKERS,
    connection_counts,
    get,
)
from tests.factories import ListingFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CONCURRENCY = 64
REQUESTS = 128
# Per process: the pool's connections and the one readiness probes keep (core.health).
PER_PROCESS = POOL_MAX + 1


class Sampler:
    """Samples the workers' connections in pg_stat_activity every 20 ms, in a thread."""

    def __init__(self, dsn: str, database: str) -> None:
        self.dsn, self.database = dsn, database
        self.peaks: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for name, count in connection_counts(self.dsn, self.database).items():
                self.peaks[name] = max(self.peaks.get(name, 0), count)
            time.sleep(0.02)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def _burst(url: str) -> list[int]:
    """REQUESTS GETs, CONCURRENCY at a time, each with a query of its own: through
    nginx, a repeated anonymous URL would come from its cache, not from the workers."""
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        return [status for status, _h, _b in
                pool.map(lambda n: get(f"{url}&n={n}-{uuid.uuid4().hex}"), range(REQUESTS))]


def _idle_after(dsn: str, database: str, name: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE state <> 'idle') FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = %s", [database, name],
        ).fetchone()


@pytest.mark.parametrize("server", ["wsgi", "asgi"])
def test_connections_stay_within_the_pool_under_64_concurrent_requests(topology, server):
    for n in range(30):
        ListingFactory(title=f"Perceuse {n}")
    if server == "wsgi":
        port, name, processes = topology["http_port"], "partage-http", HTTP_WORKERS
    else:
        port, name, processes = topology["ws_ports"][0], "partage-ws-0", 1
    with Sampler(topology["database_url"], topology["database"]) as sampler:
        statuses = _burst(f"http://127.0.0.1:{port}/listings/?q=perceuse")
    assert statuses == [200] * REQUESTS
    # The burst used the database at all (else the bound proves nothing) ...
    assert sampler.peaks.get(name, 0) >= 1
    # ... and never beyond the bound.
    assert sampler.peaks[name] <= processes * PER_PROCESS, sampler.peaks
    # Every other worker stayed within its own bound meanwhile.
    for index in range(WS_WORKERS):
        assert sampler.peaks.get(f"partage-ws-{index}", 0) <= PER_PROCESS
    # Afterwards: back in the pool (idle, none still in a request), none above bound.
    time.sleep(0.5)
    total, busy = _idle_after(topology["database_url"], topology["database"], name)
    assert busy == 0
    assert total <= processes * PER_PROCESS


def test_readiness_answers_200_while_64_requests_saturate_the_site(topology):
    for n in range(30):
        ListingFactory(title=f"Perceuse {n}")
    base = topology["url"]
    probes: list[int] = []
    done = threading.Event()

    def probe() -> None:
        while not done.is_set():
            probes.append(get(base + "healthz", timeout=10)[0])
            time.sleep(0.1)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    try:
        statuses = _burst(base + "listings/?q=perceuse")
    finally:
        done.set()
        prober.join()
    assert statuses == [200] * REQUESTS
    assert len(probes) >= 3
    assert probes == [200] * len(probes)
    assert get(base + "healthz/live")[0] == 200
