"""The "Moderators" group and exactly the permissions moderation needs.

Moderators read most things and change reports (and take actions, `moderate`); they
get no add, change or delete on ledger rows, payments or members (staff included):
those change only through services, which the moderation pages call. The group is
created by a data migration and kept in step after every migrate (post_migrate), so the
view permissions of apps that arrive later (reviews, messages) are granted too.
"""

from __future__ import annotations

GROUP_NAME = "Moderators"

PERMISSIONS = [
    "moderation.moderate",
    "moderation.view_report",
    "moderation.change_report",
    "moderation.view_moderationaction",
    "moderation.view_warning",
    "members.view_member",
    "members.view_consentrecord",
    "listings.view_listing",
    "listings.view_photo",
    "listings.view_category",
    "exchanges.view_exchange",
    "exchanges.view_exchangeevent",
    "exchanges.view_loanextension",
    "exchanges.view_payment",
    "ledger.view_account",
    "ledger.view_transfer",
    "ledger.view_entry",
    "ledger.view_limitchange",
    "reviews.view_review",
    "messaging.view_conversation",
    "messaging.view_message",
    "messaging.view_notification",
]


def sync_moderators_group(apps) -> None:
    """Create the group if needed and give it exactly PERMISSIONS (those that exist)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _created = Group.objects.get_or_create(name=GROUP_NAME)
    wanted = []
    for label in PERMISSIONS:
        app_label, codename = label.split(".")
        permission = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if permission is not None:
            wanted.append(permission)
    group.permissions.set(wanted)


def on_post_migrate(sender, **kwargs) -> None:
    from django.apps import apps

    sync_moderators_group(apps)


def moderator_grant(member) -> None:
    """Make `member` a moderator: staff (the admin opens to them, once they sign in with
    an authenticator app) and in the Moderators group, whose permissions are exactly
    PERMISSIONS. Never a superuser. Idempotent."""
    from django.apps import apps
    from django.contrib.auth.models import Group

    sync_moderators_group(apps)
    member.is_staff = True
    member.save(update_fields=["is_staff"])
    member.groups.add(Group.objects.get(name=GROUP_NAME))


def moderator_revoke(member) -> None:
    """Take the moderator's role back: out of the group and no longer staff (unless a
    superuser, who stays staff). Idempotent."""
    from django.contrib.auth.models import Group

    member.groups.remove(*Group.objects.filter(name=GROUP_NAME))
    if not member.is_superuser:
        member.is_staff = False
        member.save(update_fields=["is_staff"])
