from __future__ import annotations

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import geo


class MemberManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("A member needs an email address.")
        email = self.normalize_email(email).lower()
        member = self.model(email=email, **extra)
        member.set_password(password)
        member.save(using=self._db)
        return member

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)


class Member(AbstractUser):
    """A member signs in with their email; the rest of the profile is theirs to fill."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("email address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    bio = models.TextField(_("about me"), max_length=600, blank=True)
    neighbourhood = models.CharField(_("neighbourhood"), max_length=80, blank=True)
    languages = models.CharField(
        _("languages I speak"), max_length=120, blank=True,
        help_text=_("For example: French, English, Italian"),
    )
    avatar = models.ImageField(_("photo"), upload_to="avatars/", blank=True)
    avatar_thumbnail = models.ImageField(upload_to="avatars/", blank=True, editable=False)

    # The exact home location is private: it is stored only while the member consents,
    # and only the ~500 m approximation is ever shown or searched on.
    location_consent = models.BooleanField(_("use my location"), default=False)
    home_lat = models.FloatField(null=True, blank=True, editable=False)
    home_lng = models.FloatField(null=True, blank=True, editable=False)
    approx_lat = models.FloatField(null=True, blank=True, editable=False)
    approx_lng = models.FloatField(null=True, blank=True, editable=False)
    home_place = models.CharField(_("town"), max_length=120, blank=True)
    # The two other consents (members/services.member_set_consent keeps them and their
    # records in step). Email stays on until withdrawn: the digests are what a member
    # expects when they sign up. Showing the profile to visitors who are not signed in
    # is opt-in.
    email_consent = models.BooleanField(_("email notifications"), default=True)
    profile_public = models.BooleanField(_("show my profile to everyone"), default=False)
    # Set when the member deleted their account: personal data is gone, and what others
    # still need (exchanges, reviews, ledger transfers) shows "Former member".
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the member accepted the terms of use and read the privacy notice, at sign-up
    # (empty for accounts made before sign-up asked, and for ones made by commands).
    terms_accepted_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Standing, set only by moderation services (members/standing.py enforces it): a
    # suspension ends by itself when `suspended_until` passes, a ban does not. The reason
    # is shown to the member, so it is required whenever either is set.
    suspended_until = models.DateTimeField(_("suspended until"), null=True, blank=True,
                                           editable=False)
    banned_at = models.DateTimeField(_("banned on"), null=True, blank=True, editable=False)
    standing_reason = models.TextField(_("reason given to the member"), max_length=2000,
                                       blank=True, editable=False)
    # A moderator's warning waits to be acknowledged (moderation keeps the warnings);
    # kept here so the check on every page costs no query.
    warning_pending = models.BooleanField(default=False, editable=False)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = MemberManager()

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            # No consent, no location: the database refuses a stored point otherwise.
            models.CheckConstraint(
                condition=Q(location_consent=True)
                | (Q(home_lat__isnull=True) & Q(home_lng__isnull=True)
                   & Q(approx_lat__isnull=True) & Q(approx_lng__isnull=True)),
                name="member_location_needs_consent",
            ),
            models.CheckConstraint(
                condition=(Q(home_lat__isnull=True) & Q(home_lng__isnull=True))
                | (Q(home_lat__gte=-90) & Q(home_lat__lte=90)
                   & Q(home_lng__gte=-180) & Q(home_lng__lte=180)),
                name="member_location_in_range",
            ),
            models.CheckConstraint(
                condition=(Q(suspended_until__isnull=True) & Q(banned_at__isnull=True))
                | ~Q(standing_reason=""),
                name="member_standing_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.public_name

    @property
    def public_name(self) -> str:
        # Never fall back to the email address: it is private.
        if self.erased_at is not None:
            return str(_("Former member"))
        if self.display_name:
            return self.display_name
        return str(_("Member #%(number)s") % {"number": self.pk or "?"})

    @property
    def has_location(self) -> bool:
        return self.approx_lat is not None and self.approx_lng is not None

    @property
    def approx_point(self) -> geo.Point | None:
        return geo.Point(self.approx_lat, self.approx_lng) if self.has_location else None

    @property
    def language_list(self) -> list[str]:
        return [item.strip() for item in self.languages.split(",") if item.strip()]

    def get_absolute_url(self) -> str:
        return reverse("members:profile", args=[self.pk])

    @property
    def is_banned(self) -> bool:
        return self.banned_at is not None

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > timezone.now()

    @property
    def may_act(self) -> bool:
        """Whether the member may sign in, post, ask and chat (members/standing.py)."""
        return self.is_active and not self.is_banned and not self.is_suspended


class ConsentRecord(models.Model):
    """Each time a member gives or withdraws a consent, one row: the history is the proof."""

    class Kind(models.TextChoices):
        LOCATION = "location", _("Use my location")
        EMAIL = "email", _("Email notifications")
        PUBLIC_PROFILE = "public_profile", _("Show my profile to everyone")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    granted = models.BooleanField()
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [models.Index(fields=["member", "kind", "-at"])]

    def __str__(self) -> str:
        verb = _("given") if self.granted else _("withdrawn")
        return f"{self.get_kind_display()} {verb} ({self.at:%Y-%m-%d %H:%M})"
