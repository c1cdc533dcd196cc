#!/usr/bin/env python
"""Server-side SQL time of one view of each page of bench/search_bench.py.

Run by hand against a database search_bench.py filled (DATABASE_URL), from the
repository root:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/partage_bench .venv/bin/python bench/page_sql.py

Each page is requested once through Django's test Client with its queries captured, then
every captured statement is run again under EXPLAIN ANALYZE (TIMING off) three times; the
sum of their execution times (median of the three) is printed per page as JSON. Unlike
the whole-request medians, this leaves out Python and is less sensitive to a busy
machine. PostgreSQL only.
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
# bench/http.py would hide the standard library's `http` package (urllib, Django and
# websockets import it): run as a script, this folder comes first on sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import json
import os
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.update(DEBUG="false", STATIC_MANIFEST="false", ALLOWED_HOSTS="testserver")
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.search_bench import PAGES, QUERIES
    from listings.models import Listing

    if connection.vendor != "postgresql":
        sys.exit("PostgreSQL only: set DATABASE_URL.")
    visible = Listing.objects.visible_to_public().order_by("id")
    middle = visible.values_list("pk", flat=True)[visible.count() // 2]
    urls = {name: "/listings/" + (f"?{qs}" if qs else "") for name, qs in QUERIES.items()}
    urls.update({name: path.format(listing=middle) for name, path in PAGES.items()})
    client = Client()
    result = {}
    for name, url in urls.items():
        client.get(url)
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        totals = []
        with connection.cursor() as cursor:
            for _ in range(3):
                total = 0.0
                for query in captured:
                    sql = query["sql"]
                    # Server-side cursors (a form's choices) are captured as DECLARE.
                    if sql.startswith("DECLARE"):
                        sql = sql.split(" FOR ", 1)[1]
                    cursor.execute(f"EXPLAIN (ANALYZE, TIMING off, FORMAT JSON) {sql}")
                    total += cursor.fetchone()[0][0]["Execution Time"]
                totals.append(total)
        result[name] = {"url": url, "queries": len(captured),
                        "sql_ms": round(sorted(totals)[1], 1)}
    print(json.dumps({"listings": Listing.objects.count(), "pages": result}, indent=2))


if __name__ == "__main__":
    main()
