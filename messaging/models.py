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
    REVIEW_INVITED = "review_invited", _("Review your exchange")
    REVIEW_REMINDER = "review_reminder", _("Review window closing")
    REVIEW_PUBLISHED = "review_published", _("New review")
    REVIEW_REPLIED = "review_replied", _("Reply to your review")
    SAVED_SEARCH_MATCH = "saved_search_match", _("New listing for your search")
    EXCHANGE_SETTLED = "exchange_settled", _("Dispute settled")
    EXCHANGE_SETTLED_CANCELLED = "exchange_settled_cancel", _("Dispute settled: cancelled")
    REPORT_RECEIVED = "report_received", _("Report received")
    REPORT_HANDLED = "report_handled", _("Report handled")
    MEMBER_WARNED = "member_warned", _("Warning from the moderators")
    CONTENT_REMOVED = "content_removed", _("Removed by a moderator")
    CONTENT_RESTORED = "content_restored", _("Restored by a moderator")
    APPEAL_RECEIVED = "appeal_received", _("Appeal received")


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
    answers in the active language. Parameters: who, listing, days, query; "kind:deal"
    entries are the words of one kind of deal (params["deal"], the exchange's kind)."""
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
        "service_time_recorded:hours": gettext(
            "%(who)s recorded %(hours)s spent on “%(listing)s”. Please confirm it or report a problem."
        ),
        "service_time_recorded:corrected": gettext(
            "%(who)s corrected the time spent on “%(listing)s”: %(hours)s instead of %(before)s. "
            "Please confirm it or report a problem."
        ),
        "extension_requested": gettext("%(who)s asks to keep “%(listing)s” longer."),
        "extension_accepted": gettext("%(who)s agreed: you can keep “%(listing)s” longer."),
        "extension_declined": gettext("%(who)s declined more days for “%(listing)s”."),
        "exchange_accepted:ride": gettext(
            "%(who)s accepted your booking on “%(listing)s”. Agree on where to meet."
        ),
        "exchange_accepted:service": gettext(
            "%(who)s accepted your request for “%(listing)s”. Agree on when it happens."
        ),
        "exchange_started": gettext("%(who)s confirmed the hand-over of “%(listing)s”."),
        "exchange_started:ride": gettext("%(who)s confirmed the departure of “%(listing)s”."),
        "exchange_started:service": gettext("%(who)s confirmed that “%(listing)s” has started."),
        "exchange_completed:ride": gettext("%(who)s confirmed the arrival of “%(listing)s”."),
        "exchange_completed:loan": gettext("%(who)s confirmed that “%(listing)s” was returned."),
        "exchange_completed": gettext("%(who)s confirmed that “%(listing)s” is done."),
        "exchange_disputed": gettext("%(who)s reported a problem with “%(listing)s”."),
        "review_invited": gettext(
            "How did it go with %(who)s for “%(listing)s”? Leave a review within %(days)s days."
        ),
        "review_reminder": gettext(
            "Only %(days)s days left to review %(who)s for “%(listing)s”."
        ),
        "review_published": gettext("%(who)s reviewed you for “%(listing)s”."),
        "review_replied": gettext("%(who)s replied to your review for “%(listing)s”."),
        "exchange_settled": gettext(
            "A moderator settled the problem with “%(listing)s”: the exchange is completed."
        ),
        "exchange_settled_cancel": gettext(
            "A moderator settled the problem with “%(listing)s”: the exchange is cancelled "
            "and any payment is refunded."
        ),
        "saved_search_match": gettext("New listing for your search “%(query)s”: “%(listing)s”."),
        # Moderation: `listing` holds the reported thing's label.
        "report_received": gettext(
            "Thank you: we received your report about “%(listing)s”. A moderator will look at it."
        ),
        "report_handled:resolved": gettext(
            "The moderators acted on your report about “%(listing)s”. Thank you."
        ),
        "report_handled:dismissed": gettext(
            "The moderators looked at your report about “%(listing)s” and found nothing "
            "against the rules."
        ),
        "member_warned": gettext(
            "The moderators sent you a warning. Please read it and confirm you understand."
        ),
        "content_removed": gettext(
            "A moderator removed “%(listing)s”: %(reason)s Open it to read why, or to ask "
            "them to look again."
        ),
        "content_restored": gettext("A moderator restored “%(listing)s”."),
        "appeal_received": gettext(
            "We received your appeal about “%(listing)s”. A moderator will look at it again."
        ),
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
    # When what it asked for was done, or can no longer be done (the request was
    # answered, the review written): it no longer says "action needed".
    settled_at = models.DateTimeField(null=True, blank=True)
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
    def awaits_action(self) -> bool:
        return self.needs_action and self.settled_at is None

    @property
    def text(self) -> str:
        """The sentence in the active language."""
        params = {"who": "", "listing": "", "days": 0, "query": "", **self.params}
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
        if "minutes" in params:
            # Times are kept in minutes and worded here (notifications from before they
            # were kept read as they did).
            from core.templatetags.partage import hours

            params["hours"] = hours(params["minutes"])
            params["before"] = hours(params.get("before_minutes"))
            if variant != "corrected" or "before_minutes" not in params:
                variant = "hours"
        # The variant's words, else the deal's kind's own (a ride is not handed over).
        template = (texts.get(f"{self.kind}:{variant}") or texts.get(f"{self.kind}:{params.get('deal')}")
                    or texts.get(self.kind))
        if template is None:
            return str(self.get_kind_display())
        return template % params


# --- Conversations and chat ------------------------------------------------------------
#
# A conversation has participants and messages. Rules live in messaging/conversations.py;
# the constraints below are the ones that must hold whatever the code does.

# The longest message body, after trimming (the form, the socket and the service agree).
MESSAGE_MAX_LENGTH = 4000


class ConversationKind(models.TextChoices):
    LISTING = "listing", _("About a listing")
    EXCHANGE = "exchange", _("About an exchange")
    RIDE = "ride", _("Ride group")
    WANTED = "wanted", _("Answer to a wanted post")


# Kinds between exactly two members, where a block between them stops new messages.
ONE_TO_ONE_KINDS = frozenset(
    {ConversationKind.LISTING, ConversationKind.EXCHANGE, ConversationKind.WANTED}
)


class Conversation(models.Model):
    kind = models.CharField(_("kind"), max_length=16, choices=ConversationKind.choices)
    # What it is about. A deleted listing leaves the conversation (and its history) in
    # place, about nothing any more.
    listing = models.ForeignKey(
        "listings.Listing", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="conversations",
    )
    exchange = models.ForeignKey(
        "exchanges.Exchange", null=True, blank=True, on_delete=models.CASCADE,
        related_name="conversations",
    )
    # For listing and wanted conversations: the member who wrote to the listing's owner.
    # With the listing it names the pair, which has one conversation only.
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        verbose_name = _("conversation")
        verbose_name_plural = _("conversations")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=ConversationKind.values),
                                   name="conversation_kind_known"),
            models.UniqueConstraint(
                fields=["listing", "member"],
                condition=Q(kind__in=[ConversationKind.LISTING, ConversationKind.WANTED]),
                name="conversation_one_per_listing_and_member",
            ),
            models.UniqueConstraint(
                fields=["exchange"], condition=Q(kind=ConversationKind.EXCHANGE),
                name="conversation_one_per_exchange",
            ),
            models.UniqueConstraint(
                fields=["listing"], condition=Q(kind=ConversationKind.RIDE),
                name="conversation_one_group_per_ride",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("conversations:detail", args=[self.pk])

    @property
    def is_one_to_one(self) -> bool:
        return self.kind in ONE_TO_ONE_KINDS


class Participant(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="participants"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    joined_at = models.DateTimeField(auto_now_add=True)
    # A passenger who cancels leaves the ride group; booking again brings them back.
    left_at = models.DateTimeField(null=True, blank=True)
    # Message ids only grow, so "read up to" is one integer per participant.
    last_read_message_id = models.PositiveBigIntegerField(default=0)
    # The newest message an unread-messages digest already told them about.
    last_emailed_message_id = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        constraints = [
            models.UniqueConstraint(fields=["conversation", "member"],
                                    name="participant_once_per_conversation"),
        ]
        indexes = [
            models.Index(fields=["member", "left_at"], name="participant_member_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.conversation_id}"


class Message(models.Model):
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    # An erased member's messages stay for the others, without a name.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="messages_sent",
    )
    body = models.TextField(_("message"), max_length=MESSAGE_MAX_LENGTH)
    # Chosen by the sending device, so a resend after a network blip stores nothing new.
    client_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A wanted post's answer may offer one of the responder's own listings.
    attached_listing = models.ForeignKey(
        "listings.Listing", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    # Set by moderation: hidden messages are shown to nobody.
    hidden_at = models.DateTimeField(null=True, blank=True)
    # Set when the sender deleted their account: the body is gone (see shown_body).
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["sender", "client_id"],
                                    name="message_once_per_client_id"),
            models.CheckConstraint(condition=~Q(body=""), name="message_body_not_empty"),
        ]
        indexes = [
            # History pages and "everything after id N" on reconnect.
            models.Index(fields=["conversation", "id"], name="message_conversation_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}/{self.pk} by {self.sender_id}"

    @property
    def shown_body(self) -> str:
        """The body as members read it: an erased message says so in their language."""
        return gettext("deleted") if self.erased_at else self.body


class Block(models.Model):
    """`blocker` no longer exchanges messages with `blocked`, in either direction. Only
    the blocker knows: the blocked member is never told."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("block")
        verbose_name_plural = _("blocks")
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once_per_pair"),
            models.CheckConstraint(condition=~Q(blocker=models.F("blocked")),
                                   name="block_not_oneself"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"


# --- Presence ----------------------------------------------------------------------------


class SocketPresence(models.Model):
    """One open notification socket, in whichever worker process holds it. Shared in the
    database so every process (and the digest command) knows who is online. A row whose
    `last_seen` is older than presence.STALE_AFTER belongs to a socket that died without
    saying so (a killed worker) and counts for nothing."""

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    connected_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        verbose_name = _("open socket")
        verbose_name_plural = _("open sockets")
        indexes = [models.Index(fields=["member", "last_seen"], name="presence_member_seen_idx")]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.channel_name}"
