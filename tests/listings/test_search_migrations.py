"""SQLite's search triggers survive migrations that rebuild the listing table.

SQLite adds a column by rebuilding the table (copy, drop, rename), and the rename fails
while a trigger on another table names it. Both paths are run for real, in processes
of their own on a file database: a new database migrated at once, and one already at
the search migration (triggers in place) migrated on through later ones."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TRIGGERS = {"category_fts_update", "listing_fts_delete", "listing_fts_insert",
            "listing_fts_update"}


def migrate(path: Path, *target: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["SQLITE_PATH"] = str(path)
    done = subprocess.run([sys.executable, "manage.py", "migrate", "-v0", *target],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def triggers(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}


@pytest.mark.parametrize("steps", [[()], [("listings", "0011"), ()]], ids=["new", "existing"])
def test_migrations_that_rebuild_the_listing_table_keep_search_working(tmp_path, steps):
    path = tmp_path / "db.sqlite3"
    for target in steps:
        migrate(path, *target)
    assert triggers(path) >= TRIGGERS
