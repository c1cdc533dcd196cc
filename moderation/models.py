"""Reports from members, warnings to members, and the audit log of every moderator action.

Targets (a listing, a member, a review, a message) are named by ContentType and id, so
a report or an action outlives nothing it points at: hidden content stays stored, and a
deleted one leaves its reports and audit rows readable with the label kept at the time.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ReportReason(models.TextChoices):
    SCAM = "scam", _("Scam or fraud")
    DANGEROUS = "dangerous", _("Dangerous item")
    HARASSMENT = "harassment", _("Harassment")
    INAPPROPRIATE = "inappropriate", _("Inappropriate content")
    SPAM = "spam", _("Spam")
    OTHER = "other", _("Something else")
    # The owner of removed content asks the moderators to look again (removal_appeal).
    APPEAL = "appeal", _("Appeal against a removal")


class ReportStatus(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")
    DISMISSED = "dismissed", _("Dismissed")


class ReportQuerySet(models.QuerySet):
    def open(self) -> ReportQuerySet:
        return self.filter(status=ReportStatus.OPEN)

    def about(self, target: models.Model) -> ReportQuerySet:
        """Every report on the same target: how reports group together."""
        return self.filter(
            content_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
            object_id=target.pk,
        )


class Report(models.Model):
    """A member tells the moderators about a listing, a member, a review or a message.
    Reports on one target form its group (same content_type and object_id): the admin
    lists them together and the dashboard counts them per target."""

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made",
        verbose_name=_("reporter"),
    )
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    # The target as it read when reported: the group stays readable if it is deleted.
    target_label = models.CharField(_("reported"), max_length=200)
    # Whose content it is (the member themselves for a member report): "members with
    # several reports" counts on it, whatever was reported.
    target_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="reports_received", verbose_name=_("reported member"),
    )
    reason = models.CharField(_("reason"), max_length=16, choices=ReportReason.choices)
    note = models.TextField(_("what happened"), max_length=2000, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ReportStatus.choices, default=ReportStatus.OPEN,
        db_index=True,
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="reports_handled", verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    handling_note = models.TextField(_("moderator's note"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("reported at"), auto_now_add=True, db_index=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        indexes = [
            models.Index(fields=["content_type", "object_id", "status"], name="report_target_idx"),
        ]
        constraints = [
            # One open report per reporter and target; after it is handled they may
            # report again if it happens again.
            models.UniqueConstraint(
                fields=["reporter", "content_type", "object_id"],
                condition=Q(status="open"),
                name="report_one_open_per_reporter_and_target",
            ),
            models.CheckConstraint(condition=Q(reason__in=ReportReason.values),
                                   name="report_reason_known"),
            models.CheckConstraint(condition=Q(status__in=ReportStatus.values),
                                   name="report_status_known"),
            # Handled means by someone, at a time; open means neither.
            models.CheckConstraint(
                condition=(Q(status="open") & Q(handled_at__isnull=True) & Q(handled_by__isnull=True))
                | (~Q(status="open") & Q(handled_at__isnull=False) & Q(handled_by__isnull=False)),
                name="report_handled_consistently",
            ),
        ]
        permissions = [("moderate", _("Can take moderation actions"))]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: {self.target_label}"

    @property
    def is_open(self) -> bool:
        return self.status == ReportStatus.OPEN


class ActionKind(models.TextChoices):
    REPORT_RESOLVE = "report_resolve", _("Resolved a report")
    REPORT_DISMISS = "report_dismiss", _("Dismissed a report")
    CONTENT_HIDE = "content_hide", _("Hid content")
    CONTENT_RESTORE = "content_restore", _("Restored content")
    MEMBER_WARN = "member_warn", _("Warned a member")
    MEMBER_SUSPEND = "member_suspend", _("Suspended a member")
    MEMBER_BAN = "member_ban", _("Banned a member")
    MEMBER_REINSTATE = "member_reinstate", _("Lifted a suspension or ban")
    EXCHANGE_COMPLETE = "exchange_complete", _("Settled a dispute: completed")
    EXCHANGE_CANCEL = "exchange_cancel", _("Settled a dispute: cancelled and refunded")
    DEPOSIT_CAPTURE = "deposit_capture", _("Captured a deposit")
    TRANSFER_REVERSE = "transfer_reverse", _("Reversed a time transfer")


class ModerationAction(models.Model):
    """The audit log: one row per moderator action, written in the action's own
    transaction. Append-only (the admin shows it read-only to everyone)."""

    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="moderation_actions",
        verbose_name=_("moderator"),
    )
    action = models.CharField(_("action"), max_length=32, choices=ActionKind.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    target = GenericForeignKey("content_type", "object_id")
    target_label = models.CharField(_("target"), max_length=200)
    reason = models.TextField(_("reason"), max_length=2000)
    details = models.JSONField(_("details"), default=dict, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("moderation action")
        verbose_name_plural = _("moderation actions")
        indexes = [
            models.Index(fields=["content_type", "object_id", "-created_at"],
                         name="modaction_target_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(action__in=ActionKind.values),
                                   name="modaction_kind_known"),
            models.CheckConstraint(condition=~Q(reason=""), name="modaction_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.target_label}"


class Warning(models.Model):  # noqa: A001 -- the domain word; never used unqualified
    """A warning the member must acknowledge: until they do, every page sends them to
    it (moderation.middleware.WarningMiddleware)."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderation_warnings",
    )
    reason = models.TextField(_("reason"), max_length=2000)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("warning")
        verbose_name_plural = _("warnings")
        indexes = [
            # The check made on every page a member opens.
            models.Index(fields=["member"], condition=Q(acknowledged_at__isnull=True),
                         name="warning_pending_idx"),
        ]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="warning_has_reason")]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.created_at:%Y-%m-%d}"
