"""Notifications: one row per thing a member should know about.

The text is not stored: a notification keeps its kind and a few parameters (names and
titles as they were at the time) and is worded when it is shown, in the reader's
language. The same row will later be pushed live over the member's websocket.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    EXCHANGE_REQUESTED = "exchange_requested", _("Request received")
    EXCHANGE_ACCEPTED = "exchange_accepted", _("Request accepted")
    EXCHANGE_DECLINED = "exchange_declined", _("Request declined")
    EXCHANGE_CANCELLED = "exchange_cancelled", _("Request withdrawn")
    EXCHANGE_CALLED_OFF = "exchange_called_off", _("Deal cancelled")
    EXCHANGE_EXPIRED = "exchange_expired", _("Request expired")
    EXCHANGE_PAID = "exchange_paid", _("Payment received")
    EXCHANGE_STARTED = "exchange_started", _("Hand-over confirmed")
    EXCHANGE_COMPLETED = "exchange_completed", _("Exchange completed")
    EXCHANGE_DISPUTED = "exchange_disputed", _("Problem reported")
    LOAN_OVERDUE = "loan_overdue", _("Loan overdue")
    EXTENSION_REQUESTED = "extension_requested", _("More days asked")
    EXTENSION_ACCEPTED = "extension_accepted", _("Loan extended")
    EXTENSION_DECLINED = "extension_declined", _("More days declined")
    SERVICE_TIME_RECORDED = "service_time_recorded", _("Time to confirm")


# Kinds that ask the reader to do something; these (and only these) are also emailed.
# For loan_overdue only the borrower's copy needs action (see receivers).
NEEDS_ACTION = frozenset({
    NotificationKind.EXCHANGE_REQUESTED,  # the owner must answer
    NotificationKind.EXCHANGE_ACCEPTED,  # the asker arranges the hand-over, pays in person
    NotificationKind.EXCHANGE_DISPUTED,  # the other party answers the complaint
    NotificationKind.LOAN_OVERDUE,  # the borrower brings it back
    NotificationKind.EXTENSION_REQUESTED,  # the owner answers before the loan ends
    NotificationKind.SERVICE_TIME_RECORDED,  # the receiver confirms within 7 days
})


def _texts() -> dict[str, str]:
    """The wording of each kind (and variant), looked up at display time so gettext
    answers in the active language. Parameters: who, listing, days."""
    return {
        "exchange_requested": gettext("%(who)s asks for “%(listing)s”."),
        "exchange_accepted": gettext(
            "%(who)s accepted your request for “%(listing)s”. Arrange the hand-over."
        ),
        "exchange_declined": gettext("%(who)s declined your request for “%(listing)s”."),
        "exchange_cancelled": gettext("%(who)s withdrew their request for “%(listing)s”."),
        "exchange_called_off": gettext("%(who)s cancelled the deal for “%(listing)s”."),
        "exchange_expired:asker": gettext(
            "Your request for “%(listing)s” expired without an answer."
        ),
        "exchange_expired:owner": gettext(
            "The request from %(who)s for “%(listing)s” expired: it had no answer in time."
        ),
        "exchange_paid:asker": gettext("Your payment for “%(listing)s” was received."),
        "exchange_paid:owner": gettext("%(who)s paid for “%(listing)s”."),
        "service_time_recorded": gettext(
            "%(who)s recorded the time spent on “%(listing)s”. Please confirm it or report a problem."
        ),
        "extension_requested": gettext("%(who)s asks to keep “%(listing)s” longer."),
        "extension_accepted": gettext("%(who)s agreed: you can keep “%(listing)s” longer."),
        "extension_declined": gettext("%(who)s declined more days for “%(listing)s”."),
        "exchange_started": gettext("%(who)s confirmed the hand-over of “%(listing)s”."),
        "exchange_completed": gettext("%(who)s confirmed that “%(listing)s” is done."),
        "exchange_disputed": gettext("%(who)s reported a problem with “%(listing)s”."),
    }


class NotificationQuerySet(models.QuerySet):
    def for_member(self, member) -> NotificationQuerySet:
        return self.filter(member=member)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    # Names and titles as they were when it happened, plus a variant of the wording.
    params = models.JSONField(default=dict, blank=True)
    # Where "open" leads: a path on this site, never another host.
    url = models.CharField(max_length=300, blank=True)
    # A notification only makes sense with its deal: if a deal is ever deleted (by a
    # moderator, or an account erasure) its notifications go too, rather than linger
    # as links to a 404.
    exchange = models.ForeignKey(
        "exchanges.Exchange", null=True, blank=True, on_delete=models.CASCADE,
        related_name="notifications",
    )
    # What caused it, unique per member: a replayed signal creates nothing more.
    dedupe_key = models.CharField(max_length=80)
    needs_action = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            # The unread count in the navigation, on every page.
            models.Index(fields=["member", "read_at"], name="notification_member_read_idx"),
            # The list page, newest first.
            models.Index(fields=["member", "-created_at", "-id"], name="notification_member_new_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["member", "dedupe_key"], name="notification_once_per_cause"),
            models.CheckConstraint(condition=Q(kind__in=NotificationKind.values),
                                   name="notification_kind_known"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.kind} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def text(self) -> str:
        """The sentence in the active language."""
        params = {"who": "", "listing": "", "days": 0, **self.params}
        if self.kind == NotificationKind.LOAN_OVERDUE:
            if params.get("variant") == "owner":
                template = ngettext(
                    "%(who)s has not returned “%(listing)s”: %(days)s day late.",
                    "%(who)s has not returned “%(listing)s”: %(days)s days late.",
                    params["days"],
                )
            else:
                template = ngettext(
                    "“%(listing)s” was due back %(days)s day ago: please return it to %(who)s.",
                    "“%(listing)s” was due back %(days)s days ago: please return it to %(who)s.",
                    params["days"],
                )
            return template % params
        texts = _texts()
        variant = params.get("variant")
        template = texts.get(f"{self.kind}:{variant}") or texts.get(self.kind)
        if template is None:
            return str(self.get_kind_display())
        return template % params
