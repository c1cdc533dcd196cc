"""`manage.py create_moderator EMAIL`: make a member a moderator (`--remove` takes it
back). The member signs up on the site first, like everyone: the command never makes
an account or a password, and never a superuser."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from moderation.permissions import moderator_grant, moderator_revoke


class Command(BaseCommand):
    help = "Make a member (by email) a moderator, or with --remove take the role back."

    def add_arguments(self, parser) -> None:
        parser.add_argument("email", help="the email address the member signed up with")
        parser.add_argument("--remove", action="store_true", help="stop being a moderator")

    def handle(self, *args, email: str, remove: bool, **options) -> None:
        member = get_user_model().objects.filter(email__iexact=email.strip()).first()
        if member is None:
            raise CommandError(
                f"No member signed up with {email}. They sign up on the site first, "
                "then run this command again."
            )
        if not member.is_active:
            raise CommandError(f"{email}'s account is closed: it cannot moderate.")
        if remove:
            moderator_revoke(member)
            self.stdout.write(f"{member.email} is no longer a moderator.")
            return
        moderator_grant(member)
        self.stdout.write(
            f"{member.email} is a moderator. Next, they sign in on the site, set up an "
            "authenticator app (Account > Two-factor authentication, /accounts/2fa/): "
            "the admin (/admin/) opens only after a sign-in with its code."
        )
