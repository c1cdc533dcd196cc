#!/usr/bin/env python
"""Memory of one Django process before and after its first search near a town that
needs the gazetteer's alternate names ("Genève").

    .venv/bin/python bench/geo_memory.py [ROOT]

ROOT is the repository to import (default: this one), so another checkout (an older
commit unpacked with `git archive`) can be measured with the same script, in the same
run. DATABASE_URL: a database search_bench.py filled. Prints one line.
"""

from __future__ import annotations

import sys
from pathlib import Path

# ruff: noqa: E402
# bench/http.py would hide the standard library's `http` package (urllib, Django and
# websockets import it): run as a script, this folder comes first on sys.path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import os
import sys
import time
import warnings
from pathlib import Path


def rss_mb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status
                    if line.startswith("VmRSS"))


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    sys.path.insert(0, str(root))
    os.chdir(root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.update(DEBUG="false", STATIC_MANIFEST="false", ALLOWED_HOSTS="testserver")
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.test import Client

    client = Client()
    client.get("/listings/")
    before = rss_mb()
    started = time.perf_counter()
    response = client.get("/listings/?near=Genève&radius=10")
    first = (time.perf_counter() - started) * 1000
    assert response.status_code == 200 and b"Geneva (CH)" in response.content
    started = time.perf_counter()
    client.get("/listings/?near=Ginevra&radius=10")
    second = (time.perf_counter() - started) * 1000
    after = rss_mb()
    print(f"{root}: RSS after a plain search {before} MB, after a search near 'Genève' "
          f"{after} MB (+{after - before} MB); that request {first:.0f} ms, the next "
          f"{second:.0f} ms")


if __name__ == "__main__":
    main()
