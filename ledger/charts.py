"""The balance chart, drawn on the server as inline SVG: no script, readable without
JavaScript, and described for screen readers (role="img" with <title> and <desc>).

The plot is an inner <svg> stretched to the width (its viewBox is not kept in
proportion, so the line fills any screen) while the outer one has no viewBox: its text
is in CSS pixels and never stretched. The height is fixed, so the inner plot's vertical
units are pixels too and the value labels sit exactly on their lines."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from core.templatetags.partage import hours

WIDTH = 600  # the inner plot's horizontal units (stretched to the width)
HEIGHT = 176  # pixels: the plot, then a line of dates under it
PLOT_TOP = 10
PLOT_HEIGHT = 132
DATE_BASELINE = 168


def _day(at: datetime) -> str:
    return formats.date_format(timezone.localtime(at) if timezone.is_aware(at) else at, "j M")


def balance_svg(points: list[tuple[datetime, int]], *, title: str, desc: str,
                value_label: Callable[[int], str] = hours,
                date_label: Callable[[datetime], str] = _day) -> SafeString:
    """A step line of the balance (it changes only when a line is posted) with a zero
    line, the highest and lowest balances labelled on their own lines, and the first,
    middle and last days under it. `points` are (time, balance in minutes), oldest
    first; every text is escaped."""
    if not points:
        points = [(timezone.now(), 0)]
    times = [at.timestamp() for at, _balance in points]
    values = [balance for _at, balance in points]
    t0, t1 = min(times), max(times)
    low, high = min(min(values), 0), max(max(values), 0)
    flat = high == low
    if flat:  # a scale for the line to sit on; the made-up top is not labelled
        high = low + 60
    span_t = (t1 - t0) or 1.0

    def x(t: float) -> float:
        return round((t - t0) / span_t * WIDTH, 1)

    def y(v: int) -> float:  # in the plot's units, which are pixels vertically
        return round((high - v) / (high - low) * PLOT_HEIGHT, 1)

    parts = [f"M{x(times[0])} {y(values[0])}"]
    for t, v in zip(times[1:], values[1:], strict=True):
        parts.append(f"H{x(t)}V{y(v)}")

    guides, labels = [], []
    for value, css in ((high, "top"), (0, "zero"), (low, "bottom")):
        if (css != "zero" and value == 0) or (css == "top" and flat):
            continue  # the zero line says it already
        line_y = y(value)
        guides.append(f'<line class="balance-chart-{css}" x1="0" y1="{line_y}" x2="{WIDTH}" y2="{line_y}"/>')
        # Above its line, unless the line is at the very top: then under it.
        text_y = PLOT_TOP + line_y + (13 if line_y < 12 else -4)
        labels.append(f'<text class="balance-chart-value" x="6" y="{round(text_y, 1)}">'
                      f"{escape(value_label(value))}</text>")
    middle = points[0][0] + (points[-1][0] - points[0][0]) / 2
    for at, position, anchor in ((points[0][0], "6", "start"), (middle, "50%", "middle"),
                                 (points[-1][0], "99%", "end")):
        labels.append(f'<text class="balance-chart-date" x="{position}" y="{DATE_BASELINE}" '
                      f'text-anchor="{anchor}">{escape(date_label(at))}</text>')
    svg = (
        f'<svg class="balance-chart" role="img" aria-labelledby="balance-chart-title balance-chart-desc" '
        f'xmlns="http://www.w3.org/2000/svg" width="100%" height="{HEIGHT}">'
        f'<title id="balance-chart-title">{escape(title)}</title>'
        f'<desc id="balance-chart-desc">{escape(desc)}</desc>'
        f'<svg class="balance-chart-plot" x="0" y="{PLOT_TOP}" width="100%" height="{PLOT_HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {PLOT_HEIGHT}" preserveAspectRatio="none" overflow="visible">'
        f'{"".join(guides)}'
        f'<path class="balance-chart-line" d="{"".join(parts)}" fill="none"/>'
        "</svg>"
        f'{"".join(labels)}'
        "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 -- built from numbers and escaped text only
