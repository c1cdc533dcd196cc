"""One-time tokens for the forms that create something (core.models.FormSubmission).

Each creation form carries a fresh token ({% once_token %}, a hidden field). The view
hands the service call to submit_once(): the first POST with a token creates and records
where the result lives, in the same transaction; any later POST with the same token, or
one racing it, creates nothing and is sent to that result. A form refused for bad input
records nothing, so the member corrects it and sends it again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from core.models import FormSubmission

FIELD = "once_token"


@dataclass(frozen=True)
class Submitted:
    url: str  # where the result is: the page to redirect to
    result: Any  # what create() returned, None for a replay
    replayed: bool


def new_token() -> str:
    return str(uuid.uuid4())


def token_from(request: HttpRequest) -> uuid.UUID | None:
    """The form's token, or None when the POST carries none (not one of our pages) or a
    malformed one: such a POST is handled as before, bounded by its rate limit."""
    try:
        return uuid.UUID(request.POST.get(FIELD, ""))
    except ValueError:
        return None


def _recorded(member, token: uuid.UUID) -> FormSubmission | None:
    return FormSubmission.objects.filter(member=member, token=token).first()


def submit_once(*, member, token: uuid.UUID | None, action: str,
                create: Callable[[], Any], url_of: Callable[[Any], str]) -> Submitted:
    """Run create() at most once per (member, token) and say where its result is.

    Guarantees: for one member and token, at most one create() ever commits, also when
    identical POSTs race (the second insert of the token waits for the first's
    transaction, then fails on the unique constraint and reads its result). create()
    and the token's row commit or roll back together: an error raised by create() (a
    refusal) records nothing and propagates. Without a token, create() simply runs."""
    if token is None:
        result = create()
        return Submitted(url=url_of(result), result=result, replayed=False)
    if (done := _recorded(member, token)) is not None:
        return Submitted(url=done.result_url, result=None, replayed=True)
    try:
        with transaction.atomic():
            submission = FormSubmission.objects.create(
                member=member, token=token, action=action, result_url=""
            )
            result = create()
            submission.result_url = url_of(result)
            submission.save(update_fields=["result_url"])
    except IntegrityError:
        done = _recorded(member, token)
        if done is None:  # not our constraint: create() itself failed
            raise
        return Submitted(url=done.result_url, result=None, replayed=True)
    return Submitted(url=submission.result_url, result=result, replayed=False)


def tell_replayed(request: HttpRequest) -> None:
    """What a member sees after sending the same form twice."""
    messages.info(request, _("You had already sent this form: here is what it did. "
                             "Nothing was created twice."))


# A form left open longer than this and then sent creates again: a month is far beyond
# any double tap or browser resend, and keeps the table small.
KEEP_DAYS = 30


def submissions_purge(*, older_than_days: int = KEEP_DAYS) -> int:
    """Forget the tokens of forms sent more than `older_than_days` ago; return how many.
    Idempotent."""
    from datetime import timedelta

    from django.utils import timezone

    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _by_model = FormSubmission.objects.filter(created_at__lt=cutoff).delete()
    return deleted
