"""Receivers that keep live sockets honest, and announce new listings to saved searches.

Sockets authenticate once, at connect. So when the session behind a socket ends
(signing out) or every session of a member should end (a new password), the server
pushes the close itself (messaging.live). Connected in MessagingConfig.ready().
"""

from __future__ import annotations

import logging
from typing import Any

from allauth.account.signals import password_changed, password_reset, password_set
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save

from listings.saved_searches import saved_search_record_matches
from listings.signals import listing_activated
from messaging import live, services
from messaging.models import NotificationKind

logger = logging.getLogger(__name__)


def on_logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    # Sent before the session is flushed: its key still names this browser's sockets.
    session = getattr(request, "session", None)
    session_key = getattr(session, "session_key", None)
    if session_key:
        live.close_session_sockets(session_key)


def on_password_changed(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None and user.pk:
        live.close_member_sockets(user.pk)


def on_member_saved(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    """Every way a password changes goes through set_password() and save() (allauth's
    forms, the admin, `changepassword`); set_password leaves the raw password on the
    instance until save() has finished, which is how a new password is told apart from
    any other save."""
    if not created and getattr(instance, "_password", None) is not None:
        live.close_member_sockets(instance.pk)


def on_listing_activated(sender: Any, listing: Any, **kwargs: Any) -> None:
    """Tell the members whose saved searches match a listing that just became public.
    Runs after the listing committed: a failure here is logged, never shown to the
    member who posted it."""
    try:
        for search in saved_search_record_matches(listing=listing):
            services.notification_create(
                member=search.owner,
                kind=NotificationKind.SAVED_SEARCH_MATCH,
                dedupe_key=f"saved-search:{search.pk}:{listing.pk}",
                params={"query": search.name, "listing": listing.title},
                url=listing.get_absolute_url(),
            )
    except Exception:
        logger.exception("Saved searches not matched for listing %s", listing.pk)


def connect() -> None:
    user_logged_out.connect(on_logged_out, dispatch_uid="messaging.live.logged_out")
    for signal in (password_changed, password_reset, password_set):
        signal.connect(on_password_changed, dispatch_uid=f"messaging.live.{id(signal)}")
    post_save.connect(on_member_saved, sender=get_user_model(),
                      dispatch_uid="messaging.live.member_saved")
    listing_activated.connect(on_listing_activated, dispatch_uid="messaging.saved_search_match")
