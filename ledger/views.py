"""The member's own time account: balance, chart, statement, CSV and sending hours.
A member only ever sees their own account: every view works on request.user's."""

from __future__ import annotations

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.ratelimit import limit_posts
from core.templatetags.partage import hours
from ledger import charts, selectors, services
from ledger.forms import SendHoursForm, StatementFilterForm
from ledger.models import MAX_TRANSFER_MINUTES
from members.models import Member

STATEMENT_PAGE_SIZE = 25
# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _filters(request: HttpRequest) -> tuple[StatementFilterForm, dict]:
    """The period filter; invalid dates are reported on the form and not applied."""
    form = StatementFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return form, {"date_from": form.cleaned_data["date_from"],
                      "date_to": form.cleaned_data["date_to"]}
    return form, {}


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    own = services.account_for(request.user)
    form, filters = _filters(request)
    paginator = Paginator(selectors.statement_entries(own, **filters), STATEMENT_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [(entry, selectors.other_party(entry)) for entry in page.object_list]
    points = selectors.balance_points(own)
    chart = charts.balance_svg(
        points,
        title=_("Your balance over the last %(days)s days") % {"days": selectors.CHART_DAYS},
        desc=_("From %(start)s to %(end)s; lowest %(low)s, highest %(high)s.") % {
            "start": hours(points[0][1]), "end": hours(points[-1][1]),
            "low": hours(min(b for _at, b in points)), "high": hours(max(b for _at, b in points)),
        },
    )
    return render(request, "ledger/account.html", {
        "account": own, "form": form, "page": page, "rows": rows, "chart": chart,
        "filtered": bool(filters and any(filters.values())),
    })


def _csv_cell(value: object) -> str:
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text


@login_required
@require_GET
def statement_csv(request: HttpRequest) -> HttpResponse:
    own = services.account_for(request.user)
    form, filters = _filters(request)
    if form.is_bound and not form.is_valid():
        # Show the errors on the page rather than a file of the wrong period.
        return redirect(f"{reverse('ledger:account')}?{request.GET.urlencode()}")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="time-statement-{stamp}.csv"'
    writer = csv.writer(response)
    writer.writerow(["date", "other member", "note", "reference", "minutes", "balance_after"])
    for entry in selectors.statement_entries(own, **filters).iterator(chunk_size=500):
        writer.writerow([
            timezone.localtime(entry.created_at).isoformat(timespec="minutes"),
            _csv_cell(selectors.other_party(entry).public_name),
            _csv_cell(entry.transfer.note),
            _csv_cell(entry.transfer.reference),
            entry.minutes,
            entry.balance_after,
        ])
    return response


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("send_hours")
def send(request: HttpRequest) -> HttpResponse:
    own = services.account_for(request.user)
    if request.method == "POST":
        form = SendHoursForm(request.POST, payer=request.user)
        if form.is_valid():
            try:
                services.transfer_post(
                    payer=request.user,
                    payee=form.cleaned_data["payee"],
                    minutes=form.cleaned_data["hours"],
                    # Scoped to the payer: a token can only ever replay one's own send.
                    idempotency_key=f"send:{request.user.pk}:{form.cleaned_data['token']}",
                    note=form.cleaned_data["note"],
                    reference="gift",
                    created_by=request.user,
                )
            except services.LedgerError as error:
                _add_ledger_error(form, error)
            else:
                messages.success(request, _("%(who)s received your time. Thank you!") % {
                    "who": form.cleaned_data["payee"].public_name})
                return redirect("ledger:account")
    else:
        form = SendHoursForm(payer=request.user, recipient_member=_member_from_query(request))
    return render(request, "ledger/send.html", {
        "form": form, "account": own, "max_minutes": MAX_TRANSFER_MINUTES,
    })


def _member_from_query(request: HttpRequest) -> Member | None:
    """The member of a "Send hours" link (?to=<pk>); not oneself, active only."""
    raw = request.GET.get("to", "")
    if not raw.isdigit():
        return None
    return Member.objects.filter(pk=int(raw), is_active=True).exclude(pk=request.user.pk).first()


def _add_ledger_error(form: SendHoursForm, error: services.LedgerError) -> None:
    """The ledger names the amount field "minutes"; the form calls it "hours"."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = "hours" if field == "minutes" else (field if field in form.fields else None)
            for item in errors:
                form.add_error(target, item)
    else:
        form.add_error(None, error)
