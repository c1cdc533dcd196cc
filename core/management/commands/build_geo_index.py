"""`manage.py build_geo_index [--force]`: write the towns index file (core/geo.py) once,
at install, so no worker spends seconds and memory building it on its first search."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from core import geo


class Command(BaseCommand):
    help = "Build the gazetteer's index file shared by every process (core/geo.py)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true",
                            help="Rebuild even if the file exists.")

    def handle(self, *args, force: bool, **options) -> None:
        path = geo.index_path()
        if path.exists() and not force:
            self.stdout.write(f"{path} exists.")
            return
        started = time.monotonic()
        geo.build_index(path)
        self.stdout.write(self.style.SUCCESS(
            f"Wrote {path} ({path.stat().st_size / 1e6:.1f} MB) "
            f"in {time.monotonic() - started:.1f} s."))
