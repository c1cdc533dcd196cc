#!/usr/bin/env python
"""Time the /listings/ search page on bulk data, SQLite and PostgreSQL side by side.

Run by hand from the repository root (never part of the test suite):

    .venv/bin/python bench/search_bench.py                      # SQLite only
    .venv/bin/python bench/search_bench.py --postgres postgres://postgres@127.0.0.1:5432/partage_bench

For each database it migrates, tops the listings up to --listings with
`manage.py seed_bulk` (fixed seed, so runs are comparable), then requests each query of
QUERIES through Django's test Client (the whole stack: middleware, filter form,
templates; no network, no server) and reports the median time and the number of SQL
queries per request. Every figure is printed as one JSON document on stdout; progress
goes to stderr.

Each database is measured in its own subprocess: Django's settings are read once per
process, and the two must not share a warm cache.
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
# bench/http.py would hide the standard library's `http` package (urllib, Django and
# websockets import it): run as a script, this folder comes first on sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# name -> querystring of /listings/. Parameter names are those of listings/filters.py.
QUERIES: dict[str, str] = {
    "plain": "",
    "text": "q=drill",
    "text_french": "q=perceuse",
    "text_two_words": "q=vélo électrique",
    "near_town": "near=Annecy&radius=10",
    "near_town_nearest": "near=Annecy&radius=25&sort=nearest",
    "kind_price": "kind=item&terms=sell&price_max=50",
    "kind_price_cheapest": "kind=item&price_min=5&price_max=100&sort=price",
    "text_near_kind": "q=bike&near=Annecy&radius=10&kind=item",
    "ride_to": "kind=ride&destination_near=Geneva",
    "deep_page": "page=40",
}
# Other public pages, measured the same way: name -> path. "{listing}" is replaced by a
# visible listing in the middle of the catalogue (the same one on every run with a seed).
PAGES: dict[str, str] = {
    "home": "/",
    "detail": "/listings/{listing}/",
}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- worker: one database, inside Django --------------------------------------------


def _ensure_postgres_database(url: str) -> None:
    """Create the benchmark database if it does not exist yet."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    config = dj_database_url.parse(url)
    name = config["NAME"]
    params = {"dbname": "postgres", "user": config.get("USER") or None,
              "password": config.get("PASSWORD") or None, "host": config.get("HOST") or None,
              "port": config.get("PORT") or None}
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def worker(args: argparse.Namespace) -> dict:
    if os.environ.get("DATABASE_URL"):
        _ensure_postgres_database(os.environ["DATABASE_URL"])
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    # WhiteNoise warns that STATIC_ROOT is missing (no collectstatic): irrelevant here.
    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.http import QueryDict
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from listings.filters import ListingFilter
    from listings.models import Listing

    call_command("migrate", verbosity=0)
    existing = Listing.objects.count()
    if existing < args.listings:
        log(f"[{connection.vendor}] seeding {args.listings - existing} listings ...")
        started = time.perf_counter()
        call_command("seed_bulk", listings=args.listings - existing, seed=args.seed,
                     stdout=sys.stderr)
        log(f"[{connection.vendor}] seeded in {time.perf_counter() - started:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    client = Client()
    results: dict[str, dict] = {}
    visible = Listing.objects.visible_to_public().order_by("id")
    middle = visible.values_list("pk", flat=True)[visible.count() // 2]
    targets = [(name, "/listings/" + (f"?{qs}" if qs else ""), qs)
               for name, qs in QUERIES.items()]
    targets += [(name, path.format(listing=middle), None) for name, path in PAGES.items()]
    for name, url, querystring in targets:
        for _ in range(args.warmup):
            client.get(url)
        timings = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        # How many listings match (the search pages only), counted in full here.
        matches = None if querystring is None else ListingFilter(
            QueryDict(querystring), queryset=Listing.objects.visible_to_public()).qs.count()
        results[name] = {
            "url": url,
            "status": response.status_code,
            "median_ms": round(statistics.median(timings), 2),
            "p90_ms": round(_percentile(timings, 0.9), 2),
            "min_ms": round(min(timings), 2),
            "queries": len(queries),
            "matches": matches,
            "bytes": len(response.content),
        }
        log(f"[{connection.vendor}] {name:<22} {results[name]['median_ms']:>8.1f} ms "
            f"{len(queries):>3} queries {matches if matches is not None else '-':>6} matches")
    return {
        "database": connection.vendor,
        "database_version": ".".join(map(str, connection.Database.sqlite_version_info))
        if connection.vendor == "sqlite" else str(connection.pg_version),
        "listings": Listing.objects.count(),
        "visible_listings": Listing.objects.visible_to_public().count(),
        "repeat": args.repeat,
        "results": results,
    }


# --- parent: one subprocess per database, one JSON document ---------------------------


def _run_worker(label: str, env: dict[str, str], args: argparse.Namespace) -> dict:
    command = [sys.executable, __file__, "--worker", "--listings", str(args.listings),
               "--repeat", str(args.repeat), "--warmup", str(args.warmup),
               "--seed", str(args.seed)]
    log(f"== {label}")
    done = subprocess.run(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                          check=False)
    if done.returncode != 0:
        return {"error": f"worker exited with {done.returncode} (see stderr)"}
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=10_000,
                        help="Listings in each database (topped up with seed_bulk).")
    parser.add_argument("--repeat", type=int, default=20, help="Timed requests per query.")
    parser.add_argument("--warmup", type=int, default=2, help="Untimed requests per query.")
    parser.add_argument("--seed", type=int, default=42, help="seed_bulk's random seed.")
    parser.add_argument("--sqlite", metavar="PATH",
                        help="Keep the SQLite database in this file (reused next time) "
                             "instead of a throwaway one.")
    parser.add_argument("--no-sqlite", action="store_true", help="Skip SQLite.")
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("DATABASE_URL"),
                        help="A PostgreSQL database to fill and measure (created if "
                             "missing; default: $DATABASE_URL). Use a throwaway one.")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.listings <= 0 or args.repeat <= 0 or args.warmup < 0:
        parser.error("--listings and --repeat must be positive, --warmup not negative.")

    if args.worker:
        print(json.dumps(worker(args)))
        return

    base_env = {**os.environ, "DEBUG": "false", "STATIC_MANIFEST": "false",
                "ALLOWED_HOSTS": "testserver,localhost"}
    base_env.pop("DATABASE_URL", None)
    report: dict = {
        "benchmark": "listing search page (/listings/) through django.test.Client",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform()},
        "listings": args.listings,
        "queries": QUERIES,
        "pages": PAGES,
        "databases": {},
    }
    throwaway = None
    try:
        if not args.no_sqlite:
            if args.sqlite:
                path = Path(args.sqlite).resolve()
            else:
                throwaway = tempfile.mkdtemp(prefix="partage-bench-")
                path = Path(throwaway) / "bench.sqlite3"
            report["databases"]["sqlite"] = _run_worker(
                f"SQLite ({path})", {**base_env, "SQLITE_PATH": str(path)}, args)
        if args.postgres:
            report["databases"]["postgresql"] = _run_worker(
                "PostgreSQL", {**base_env, "DATABASE_URL": args.postgres}, args)
    finally:
        if throwaway:
            shutil.rmtree(throwaway, ignore_errors=True)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
