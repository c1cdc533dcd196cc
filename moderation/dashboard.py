"""The moderators' dashboard: figures that each link to the admin list behind them, and
a 30-day chart drawn on the server as SVG (same style as ledger/charts.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from members.models import Member
from moderation.models import Report, ReportStatus

DAYS = 30
SEVERAL_REPORTS = 3


@dataclass
class Figure:
    label: str
    value: int
    url: str


def _changelist(model_label: str, **query) -> str:
    app_label, model_name = model_label.lower().split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


def _start_of_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def figures() -> list[Figure]:
    now = timezone.now()
    today = _start_of_today()
    open_reports = Report.objects.open()
    result = [
        Figure(_("Open reports"), open_reports.count(),
               _changelist("moderation.Report", status__exact=ReportStatus.OPEN)),
        Figure(_("Open for more than 2 days"),
               open_reports.filter(created_at__lt=now - timedelta(days=2)).count(),
               _changelist("moderation.Report", status__exact=ReportStatus.OPEN,
                           created_at__lt=(now - timedelta(days=2)).isoformat())),
    ]
    if apps.is_installed("exchanges"):
        from exchanges.models import Exchange, State

        result.append(Figure(_("Exchanges in dispute"),
                             Exchange.objects.filter(state=State.DISPUTED).count(),
                             _changelist("exchanges.Exchange", state__exact=State.DISPUTED)))
    result.append(Figure(_("New members today"),
                         Member.objects.filter(date_joined__gte=today).count(),
                         _changelist("members.Member", date_joined__gte=today.isoformat())))
    from listings.models import Listing

    result.append(Figure(_("New listings today"),
                         Listing.objects.filter(created_at__gte=today).count(),
                         _changelist("listings.Listing", created_at__gte=today.isoformat())))
    message_type = _content_type("messaging.Message")
    if message_type is not None:
        result.append(Figure(_("Messages flagged"),
                             open_reports.filter(content_type=message_type).count(),
                             _changelist("moderation.Report", status__exact=ReportStatus.OPEN,
                                         content_type__id__exact=message_type.pk)))
    return result


def _content_type(label: str) -> ContentType | None:
    try:
        return ContentType.objects.get_for_model(apps.get_model(label))
    except LookupError:
        return None


def open_reports_by_age() -> list[Figure]:
    now = timezone.now()
    bands = [(_("Under a day"), None, now - timedelta(days=1)),
             (_("1 to 7 days"), now - timedelta(days=1), now - timedelta(days=7)),
             (_("Over a week"), now - timedelta(days=7), None)]
    result = []
    for label, newer_than_end, older_bound in bands:
        query: dict = {"status__exact": ReportStatus.OPEN}
        qs = Report.objects.open()
        if label == bands[0][0]:
            qs = qs.filter(created_at__gte=older_bound)
            query["created_at__gte"] = older_bound.isoformat()
        elif label == bands[1][0]:
            qs = qs.filter(created_at__lt=newer_than_end, created_at__gte=older_bound)
            query.update(created_at__lt=newer_than_end.isoformat(),
                         created_at__gte=older_bound.isoformat())
        else:
            qs = qs.filter(created_at__lt=newer_than_end)
            query["created_at__lt"] = newer_than_end.isoformat()
        result.append(Figure(label, qs.count(), _changelist("moderation.Report", **query)))
    return result


def open_reports_by_target(limit: int = 10) -> list[Figure]:
    """The targets with the most open reports: each line is one group."""
    rows = (
        Report.objects.open().values("content_type", "object_id", "target_label")
        .annotate(n=Count("id")).order_by("-n", "target_label")[:limit]
    )
    return [
        Figure(row["target_label"], row["n"], _changelist(
            "moderation.Report", status__exact=ReportStatus.OPEN,
            content_type__id__exact=row["content_type"], object_id=row["object_id"],
        ))
        for row in rows
    ]


def members_with_several_reports(minimum: int = SEVERAL_REPORTS, limit: int = 10) -> list[Figure]:
    """Members whose content (or who themselves) drew reports from several reporters
    over the last 90 days, handled or not."""
    since = timezone.now() - timedelta(days=90)
    rows = (
        Report.objects.filter(created_at__gte=since, target_owner__isnull=False)
        .values("target_owner", "target_owner__email")
        .annotate(n=Count("reporter", distinct=True)).filter(n__gte=minimum)
        .order_by("-n")[:limit]
    )
    return [
        Figure(row["target_owner__email"], row["n"],
               _changelist("moderation.Report", target_owner__id__exact=row["target_owner"]))
        for row in rows
    ]


def _per_day(queryset: QuerySet, field: str, first: date) -> dict[date, int]:
    rows = (
        queryset.filter(**{f"{field}__date__gte": first})
        .annotate(day=TruncDate(field)).values("day").annotate(n=Count("id"))
    )
    return {row["day"]: row["n"] for row in rows}


def daily_series(days: int = DAYS) -> tuple[list[date], dict[str, list[int]]]:
    from listings.models import Listing

    last = timezone.localdate()
    first = last - timedelta(days=days - 1)
    dates = [first + timedelta(days=i) for i in range(days)]
    sources = {
        _("Sign-ups"): _per_day(Member.objects.all(), "date_joined", first),
        _("Listings"): _per_day(Listing.objects.all(), "created_at", first),
        _("Reports"): _per_day(Report.objects.all(), "created_at", first),
    }
    if apps.is_installed("exchanges"):
        from exchanges.models import Exchange

        sources[_("Exchanges")] = _per_day(Exchange.objects.all(), "requested_at", first)
    return dates, {name: [counts.get(day, 0) for day in dates] for name, counts in sources.items()}


WIDTH, HEIGHT, PAD = 600, 180, 24
COLOURS = ["#1f6f5c", "#c2611f", "#7a4fb5", "#b3261e"]


def chart_svg(dates: list[date], series: dict[str, list[int]]) -> SafeString:
    """One line per series over the days, a legend, and the highest value as scale.
    Numbers and escaped labels only; role="img" with a text description."""
    top = max([1, *(v for values in series.values() for v in values)])
    step = (WIDTH - 2 * PAD) / max(len(dates) - 1, 1)

    def y(v: int) -> float:
        return round(HEIGHT - PAD - v / top * (HEIGHT - 2 * PAD), 1)

    lines, legend, described = [], [], []
    for i, (name, values) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{round(PAD + j * step, 1)},{y(v)}" for j, v in enumerate(values))
        lines.append(f'<polyline class="mod-chart-line" points="{points}" fill="none" '
                     f'stroke="{colour}" stroke-width="2"/>')
        legend.append(f'<text x="{PAD + i * 140}" y="14" fill="{colour}" font-size="12">'
                      f'{escape(name)} ({sum(values)})</text>')
        described.append(f"{name}: {sum(values)}")
    title = _("The last %(days)s days") % {"days": len(dates)}
    desc = "; ".join(described)
    svg = (
        f'<svg class="mod-chart" role="img" aria-labelledby="mod-chart-title mod-chart-desc" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'height="{HEIGHT}">'
        f'<title id="mod-chart-title">{escape(title)}</title>'
        f'<desc id="mod-chart-desc">{escape(desc)}</desc>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" stroke="#999"/>'
        f'<text x="{WIDTH - PAD}" y="{PAD - 2}" font-size="10" text-anchor="end">{top}</text>'
        f'<text x="{PAD}" y="{HEIGHT - 6}" font-size="10">{dates[0]:%d/%m}</text>'
        f'<text x="{WIDTH - PAD}" y="{HEIGHT - 6}" font-size="10" text-anchor="end">{dates[-1]:%d/%m}</text>'
        + "".join(lines) + "".join(legend) + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 -- numbers and escaped text only
