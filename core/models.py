"""What the shared machinery of every app stores: the one-time tokens of creation forms."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class FormSubmission(models.Model):
    """A creation form that was sent and did what it asked: its one-time token and where
    its result lives. The same idea as the ledger's idempotency keys: a second POST of
    the same form (a double tap, a replay, a browser resending) finds this row, unique
    in the database, and is sent to the first's result instead of creating another."""

    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                               related_name="+")
    token = models.UUIDField()
    action = models.CharField(max_length=40)
    result_url = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # Scoped to the member: a token can only ever replay one's own form.
            models.UniqueConstraint(fields=["member", "token"], name="core_submission_once"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.token}"
