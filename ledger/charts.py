"""The balance chart, drawn on the server as inline SVG: no script, readable without
JavaScript, and described for screen readers (role="img" with <title> and <desc>)."""

from __future__ import annotations

from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

WIDTH = 600
HEIGHT = 160
PAD = 8


def balance_svg(points: list[tuple[datetime, int]], *, title: str, desc: str) -> SafeString:
    """A step line of the balance (it changes only when a line is posted) with a zero
    line. `points` are (time, balance in minutes), oldest first; title and desc are escaped."""
    if not points:
        points = [(datetime.now(), 0)]
    times = [at.timestamp() for at, _balance in points]
    values = [balance for _at, balance in points]
    t0, t1 = min(times), max(times)
    low, high = min(min(values), 0), max(max(values), 0)
    if high == low:
        high = low + 60
    span_t = (t1 - t0) or 1.0

    def x(t: float) -> float:
        return round(PAD + (t - t0) / span_t * (WIDTH - 2 * PAD), 1)

    def y(v: int) -> float:
        return round(PAD + (high - v) / (high - low) * (HEIGHT - 2 * PAD), 1)

    parts = [f"M{x(times[0])} {y(values[0])}"]
    for t, v in zip(times[1:], values[1:], strict=True):
        parts.append(f"H{x(t)}V{y(v)}")
    zero = y(0)
    svg = (
        f'<svg class="balance-chart" role="img" aria-labelledby="balance-chart-title balance-chart-desc" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'preserveAspectRatio="none" width="100%" height="{HEIGHT}">'
        f'<title id="balance-chart-title">{escape(title)}</title>'
        f'<desc id="balance-chart-desc">{escape(desc)}</desc>'
        f'<line class="balance-chart-zero" x1="{PAD}" y1="{zero}" x2="{WIDTH - PAD}" y2="{zero}"/>'
        f'<path class="balance-chart-line" d="{"".join(parts)}" fill="none"/>'
        "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 -- built from numbers and escaped text only
