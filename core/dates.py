"""Dates in sentences the services write, in the reader's language and the site's one
style (config/formats): "3 December 2026", never str(date)'s "2026-12-03"."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import formats, timezone


def day(value: date | datetime) -> str:
    """A day: "3 December 2026" / "3 décembre 2026"."""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
    return formats.date_format(value, "DATE_FORMAT")


def moment(value: datetime) -> str:
    """A day and time: "3 December 2026, 12:06"."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATETIME_FORMAT")
