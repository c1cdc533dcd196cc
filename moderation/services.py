"""Every moderation change: reports, hiding content, warning, suspending and banning
members, and settling disputed exchanges through the exchanges and ledger services.

Rules for every function here: keyword-only arguments; the acting moderator is checked
first (staff with the `moderation.moderate` permission, in good standing); a reason is
required; the change and its ModerationAction audit row are written in one transaction,
so an action that fails leaves neither. Errors are ModerationError (a ValidationError
whose message is meant for the person acting) or PermissionDenied.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import Member
from members.standing import standing_sessions_end
from messaging import live
from messaging import services as notifications
from moderation import targets
from moderation.models import (
    ActionKind,
    ModerationAction,
    Report,
    ReportReason,
    ReportStatus,
    Warning,
)

# Longest suspension a moderator may give at once; longer is a ban.
MAX_SUSPENSION_DAYS = 365


class ModerationError(ValidationError):
    """A moderation step the rules refuse; the message says why."""


def is_moderator(member: Any) -> bool:
    return bool(
        member is not None and member.is_authenticated and member.is_active and member.is_staff
        and member.has_perm("moderation.moderate")
    )


def _require_moderator(by: Member) -> None:
    if not is_moderator(by):
        raise PermissionDenied(_("Only moderators can do this."))


def _reason(reason: str, field: str = "reason") -> str:
    cleaned = (reason or "").strip()
    if not cleaned:
        raise ModerationError({field: [_("Give a reason: it is kept in the audit log.")]})
    return cleaned[:2000]


def _log(*, by: Member, action: str, target: models.Model, reason: str,
         **details: Any) -> ModerationAction:
    return ModerationAction.objects.create(
        moderator=by, action=action,
        content_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        object_id=target.pk, target_label=targets.target_label(target), reason=reason,
        details=details,
    )


# --- Reports ----------------------------------------------------------------------------


def report_create(*, reporter: Member, target: models.Model, reason: str, note: str = "") -> Report:
    """A member reports a listing, a member, a review or a message. Guarantees: the kind
    is reportable; nobody reports their own content or themselves; the reason is one of
    the choices; at most one open report per reporter and target (the database says so
    too, also under a race). The reporter is told it was received."""
    kind = targets.kind_of(target)
    if kind is None:
        raise ModerationError(_("This cannot be reported."))
    if reason not in ReportReason.values or reason == ReportReason.APPEAL:
        raise ModerationError({"reason": [_("Choose why you report it.")]})
    owner = kind.owner_of(target)
    if owner is not None and owner.pk == reporter.pk:
        raise ModerationError(_("You cannot report your own content."))
    note = (note or "").strip()[:2000]
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
    duplicate = ModerationError(
        _("You already reported this; the moderators have not handled it yet.")
    )
    if Report.objects.open().filter(reporter=reporter, content_type=content_type,
                                    object_id=target.pk).exists():
        raise duplicate
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=reporter, content_type=content_type, object_id=target.pk,
                target_label=targets.target_label(target), target_owner=owner,
                reason=reason, note=note,
            )
            notification, _created = notifications.notification_create(
                member=reporter, kind="report_received", dedupe_key=f"report:{report.pk}:received",
                params={"listing": report.target_label}, url=_public_url(target),
            )
    except IntegrityError as error:
        raise duplicate from error
    return report


def _public_url(target: models.Model) -> str:
    get_url = getattr(target, "get_absolute_url", None)
    try:
        return get_url() if get_url else ""
    except Exception:  # a target without a public page of its own
        return ""


@transaction.atomic
def _report_handle(*, report: Report, by: Member, note: str, status: str, action: str) -> Report:
    _require_moderator(by)
    note = _reason(note, "note")
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if locked.status != ReportStatus.OPEN:
        raise ModerationError(
            _("This report was already handled (%(status)s).")
            % {"status": locked.get_status_display().lower()}
        )
    locked.status = status
    locked.handled_by = by
    locked.handled_at = timezone.now()
    locked.handling_note = note
    locked.save(update_fields=["status", "handled_by", "handled_at", "handling_note"])
    _log(by=by, action=action, target=locked, reason=note,
         report_target=locked.target_label, status=status)
    notifications.notification_create(
        member=locked.reporter, kind="report_handled",
        dedupe_key=f"report:{locked.pk}:handled",
        params={"listing": locked.target_label, "variant": status},
    )
    return locked


def report_resolve(*, report: Report, by: Member, note: str) -> Report:
    """Close an open report as acted upon, with a note. Refused if already handled.
    The reporter is told (without the moderator's note, which stays internal)."""
    return _report_handle(report=report, by=by, note=note, status=ReportStatus.RESOLVED,
                          action=ActionKind.REPORT_RESOLVE)


def report_dismiss(*, report: Report, by: Member, note: str) -> Report:
    """Close an open report as needing no action, with a note. Refused if handled."""
    return _report_handle(report=report, by=by, note=note, status=ReportStatus.DISMISSED,
                          action=ActionKind.REPORT_DISMISS)


@transaction.atomic
def reports_on_target_handle(*, target: models.Model, by: Member, note: str,
                             resolve: bool) -> int:
    """Resolve (or dismiss) every open report on one target with one note, from the
    target's moderation page: each report is handled as report_resolve or report_dismiss
    handles it (audit entry, reporter told). Returns how many; refused with
    ModerationError, nothing changed, when none is open."""
    _require_moderator(by)
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
    open_reports = list(Report.objects.filter(content_type=content_type, object_id=target.pk,
                                              status=ReportStatus.OPEN).order_by("pk"))
    if not open_reports:
        raise ModerationError(_("No report on this is open."))
    handle = report_resolve if resolve else report_dismiss
    for report in open_reports:
        handle(report=report, by=by, note=note)
    return len(open_reports)


# --- Hiding content ---------------------------------------------------------------------


@transaction.atomic
def content_hide(*, target: models.Model, by: Member, reason: str) -> ModerationAction:
    """Hide a listing, review or message from every page and search. It stays stored
    (for the record and a possible restore); members see it is gone."""
    _require_moderator(by)
    reason = _reason(reason)
    kind = targets.kind_of(target)
    if kind is None or kind.hide is None:
        raise ModerationError(_("This cannot be hidden."))
    target = _fresh(target)
    if kind.is_hidden(target):
        raise ModerationError(_("This is already hidden."))
    details = kind.hide(target, by=by, reason=reason)
    action = _log(by=by, action=ActionKind.CONTENT_HIDE, target=target, reason=reason,
                  kind=kind.key, **details)
    _tell_owner(kind, target, action, "content_removed", reason=reason)
    return action


def _tell_owner(kind, target: models.Model, action: ModerationAction, notification: str,
                **params: Any) -> None:
    """The member whose content a moderator hid or restored hears of it, with the
    reason: nobody should find their listing gone without a word. Once per action."""
    owner = kind.owner_of(target)
    if owner is None:
        return
    notifications.notification_create(
        member=owner, kind=notification, dedupe_key=f"moderation-action:{action.pk}",
        params={"listing": targets.target_label(target), **params},
        url=_public_url(target),
    )


@transaction.atomic
def content_restore(*, target: models.Model, by: Member, reason: str) -> ModerationAction:
    """Show hidden content again (a listing comes back as it was before removal)."""
    _require_moderator(by)
    reason = _reason(reason)
    kind = targets.kind_of(target)
    if kind is None or kind.restore is None:
        raise ModerationError(_("This cannot be hidden or restored."))
    target = _fresh(target)
    if not kind.is_hidden(target):
        raise ModerationError(_("This is not hidden."))
    last_hide = ModerationAction.objects.filter(
        action=ActionKind.CONTENT_HIDE,
        content_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        object_id=target.pk,
    ).first()
    details = kind.restore(target, by=by, reason=reason,
                           previous=last_hide.details if last_hide else None)
    action = _log(by=by, action=ActionKind.CONTENT_RESTORE, target=target, reason=reason,
                  kind=kind.key, **details)
    _tell_owner(kind, target, action, "content_restored")
    return action


def removal_appeal(*, member: Member, target: models.Model, note: str) -> Report:
    """The owner of content a moderator hid asks them to look again. Guarantees: the
    target is hidden and is the member's own; the note is required; it becomes an open
    report (reason APPEAL) in the moderators' queue, at most one open per member and
    target (the report's unique constraint), and the member is told it was received."""
    kind = targets.kind_of(target)
    if kind is None or kind.is_hidden is None or not kind.is_hidden(target):
        raise ModerationError(_("Only something the moderators removed can be appealed."))
    owner = kind.owner_of(target)
    if owner is None or owner.pk != member.pk:
        raise ModerationError(_("Only its owner can appeal a removal."))
    note = (note or "").strip()
    if not note:
        raise ModerationError({"note": [_("Say in a few words why they should look again.")]})
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
    pending = ModerationError(_("Your appeal is waiting for a moderator already."))
    if Report.objects.open().filter(reporter=member, content_type=content_type,
                                    object_id=target.pk).exists():
        raise pending
    try:
        with transaction.atomic():
            report = Report.objects.create(
                reporter=member, content_type=content_type, object_id=target.pk,
                target_label=targets.target_label(target), target_owner=member,
                reason=ReportReason.APPEAL, note=note[:2000],
            )
            notifications.notification_create(
                member=member, kind="appeal_received", dedupe_key=f"report:{report.pk}:appeal",
                params={"listing": report.target_label}, url=_public_url(target),
            )
    except IntegrityError as error:
        raise pending from error
    return report


def _fresh(target: models.Model) -> models.Model:
    # The row as it is now, locked: the caller's copy may be stale.
    return type(target)._default_manager.select_for_update().get(pk=target.pk)


def listing_hide(*, listing, by: Member, reason: str) -> ModerationAction:
    return content_hide(target=listing, by=by, reason=reason)


def listing_restore(*, listing, by: Member, reason: str) -> ModerationAction:
    return content_restore(target=listing, by=by, reason=reason)


# --- Members ------------------------------------------------------------------------------


def _lock_member(member: Member, by: Member) -> Member:
    locked = Member.objects.select_for_update().get(pk=member.pk)
    if locked.pk == by.pk:
        raise ModerationError(_("You cannot act on your own account."))
    if locked.is_staff or locked.is_superuser:
        # Staff are managed by whoever manages staff, not by moderation.
        raise ModerationError(_("Staff accounts are not moderated here."))
    return locked


@transaction.atomic
def member_warn(*, member: Member, by: Member, reason: str) -> Warning:
    """Warn a member: they see the reason on every page until they click "I understand"
    (moderation.middleware.WarningMiddleware), and a notification records it."""
    _require_moderator(by)
    reason = _reason(reason)
    locked = _lock_member(member, by)
    warning = Warning.objects.create(member=locked, reason=reason, issued_by=by)
    locked.warning_pending = True
    locked.save(update_fields=["warning_pending"])
    _log(by=by, action=ActionKind.MEMBER_WARN, target=locked, reason=reason,
         warning_id=warning.pk)
    notification, _created = notifications.notification_create(
        member=locked, kind="member_warned", dedupe_key=f"warning:{warning.pk}",
        url=reverse("moderation:warning"), needs_action=True,
    )
    transaction.on_commit(lambda: notifications.notification_email(notification=notification))
    return warning


@transaction.atomic
def warning_acknowledge(*, warning: Warning, by: Member) -> Warning:
    """The member read the warning. Only their own; acknowledging twice keeps the first time."""
    locked = Warning.objects.select_for_update().get(pk=warning.pk)
    if locked.member_id != by.pk:
        raise PermissionDenied
    if locked.acknowledged_at is None:
        locked.acknowledged_at = timezone.now()
        locked.save(update_fields=["acknowledged_at"])
    pending = Warning.objects.filter(member_id=by.pk, acknowledged_at__isnull=True).exists()
    Member.objects.filter(pk=by.pk).update(warning_pending=pending)
    return locked


def _restrict(member: Member, by: Member, *, action: str, reason: str, **details: Any) -> Member:
    """What suspension and ban share: signed out everywhere, sockets closed, active
    listings paused (the owner reactivates them later), all logged."""
    from listings.models import Listing, Status

    paused = list(
        Listing.objects.select_for_update().filter(owner=member, status=Status.ACTIVE)
        .values_list("pk", flat=True)
    )
    Listing.objects.filter(pk__in=paused).update(status=Status.PAUSED, updated_at=timezone.now())
    sessions = standing_sessions_end(member)
    live.close_member_sockets(member.pk)
    _log(by=by, action=action, target=member, reason=reason, paused_listings=paused,
         sessions_ended=sessions, **details)
    return member


@transaction.atomic
def member_suspend(*, member: Member, by: Member, days: int, reason: str) -> Member:
    """Suspend a member for 1 to 365 whole days from now: they cannot log in, post, ask
    or chat until then; they are signed out, their sockets close and their active
    listings are paused. A new suspension replaces the current one: it ends `days` from
    now, sooner or later than the old end, as the moderator decided."""
    _require_moderator(by)
    reason = _reason(reason)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_SUSPENSION_DAYS:
        raise ModerationError({"days": [
            _("Suspend for 1 to %(max)s days.") % {"max": MAX_SUSPENSION_DAYS}
        ]})
    locked = _lock_member(member, by)
    if locked.is_banned:
        raise ModerationError(_("This member is banned already."))
    locked.suspended_until = timezone.now() + timedelta(days=days)
    locked.standing_reason = reason
    locked.save(update_fields=["suspended_until", "standing_reason"])
    return _restrict(locked, by, action=ActionKind.MEMBER_SUSPEND, reason=reason, days=days,
                     until=locked.suspended_until.isoformat())


@transaction.atomic
def member_ban(*, member: Member, by: Member, reason: str) -> Member:
    """Ban a member for good: the effects of a suspension, without an end."""
    _require_moderator(by)
    reason = _reason(reason)
    locked = _lock_member(member, by)
    if locked.is_banned:
        raise ModerationError(_("This member is banned already."))
    locked.banned_at = timezone.now()
    locked.standing_reason = reason
    locked.save(update_fields=["banned_at", "standing_reason"])
    return _restrict(locked, by, action=ActionKind.MEMBER_BAN, reason=reason)


@transaction.atomic
def member_reinstate(*, member: Member, by: Member, reason: str) -> Member:
    """Lift a suspension or a ban. Paused listings stay paused: the member decides."""
    _require_moderator(by)
    reason = _reason(reason)
    locked = _lock_member(member, by)
    if not (locked.is_banned or locked.is_suspended):
        raise ModerationError(_("This member is neither suspended nor banned."))
    locked.suspended_until = None
    locked.banned_at = None
    locked.standing_reason = ""
    locked.save(update_fields=["suspended_until", "banned_at", "standing_reason"])
    _log(by=by, action=ActionKind.MEMBER_REINSTATE, target=locked, reason=reason)
    return locked


# --- Disputes -------------------------------------------------------------------------------


def _exchange_error(error: ValidationError) -> ModerationError:
    return ModerationError(" ".join(error.messages))


@transaction.atomic
def exchange_settle_complete(*, exchange, by: Member, reason: str):
    """Settle a disputed exchange as done, through exchanges' state machine."""
    from exchanges import services as exchange_services

    _require_moderator(by)
    reason = _reason(reason)
    try:
        settled = exchange_services.exchange_settle_complete(exchange=exchange, note=reason)
    except ValidationError as error:
        raise _exchange_error(error) from error
    _log(by=by, action=ActionKind.EXCHANGE_COMPLETE, target=settled, reason=reason)
    return settled


@transaction.atomic
def exchange_settle_cancel(*, exchange, by: Member, reason: str):
    """Cancel a disputed exchange: the price paid online is refunded and a held deposit
    released once this commits (exchanges.payments; reconcile retries on failure)."""
    from exchanges import services as exchange_services

    _require_moderator(by)
    reason = _reason(reason)
    try:
        settled = exchange_services.exchange_settle_cancel(exchange=exchange, note=reason)
    except ValidationError as error:
        raise _exchange_error(error) from error
    _log(by=by, action=ActionKind.EXCHANGE_CANCEL, target=settled, reason=reason)
    return settled


def deposit_capture(*, exchange, by: Member, amount_cents: int, reason: str):
    """Capture part or all of a disputed loan's held deposit for the owner (the rest
    is released by Stripe). Stripe is called outside any lock or transaction; the
    audit row is written once Stripe has answered."""
    from exchanges import payments
    from exchanges.models import State

    _require_moderator(by)
    reason = _reason(reason)
    exchange = type(exchange).objects.get(pk=exchange.pk)
    if exchange.state not in (State.DISPUTED, State.COMPLETED):
        raise ModerationError(_("A deposit is settled here only for a disputed or completed loan."))
    try:
        payment = payments.deposit_capture(exchange=exchange, amount_cents=amount_cents,
                                           reason=reason)
    except ValidationError as error:
        raise _exchange_error(error) from error
    with transaction.atomic():
        _log(by=by, action=ActionKind.DEPOSIT_CAPTURE, target=exchange, reason=reason,
             payment_id=payment.pk, amount_cents=amount_cents)
    return payment


@transaction.atomic
def transfer_reverse(*, transfer, by: Member, reason: str):
    """Reverse a ledger transfer (once: a second call returns the first reversal and
    logs nothing new)."""
    from ledger import services as ledger_services
    from ledger.models import Transfer

    _require_moderator(by)
    reason = _reason(reason)
    already = Transfer.objects.filter(reverses=transfer).first()
    if already is not None:
        raise ModerationError(_("This transfer was already reversed (#%(id)s).") % {"id": already.pk})
    try:
        reversal = ledger_services.transfer_reverse(transfer=transfer, by=by, reason=reason)
    except ValidationError as error:
        raise _exchange_error(error) from error
    _log(by=by, action=ActionKind.TRANSFER_REVERSE, target=transfer, reason=reason,
         reversal_id=reversal.pk, minutes=transfer.minutes)
    return reversal
