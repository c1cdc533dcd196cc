"""Reads the conversation pages, sockets and counts share."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from members.models import Member
from messaging.models import Message, Notification, Participant


class CompiledValues:
    """A values_list() queryset turned into SQL once per database connection, then run
    again with other values for its named integer parameters.

    For reads made on every chat message: there, building and compiling the queryset
    cost several times more than running it (measured with cProfile on SQLite). The
    queryset stays the single definition; `build(**names)` receives a sentinel integer
    per name (a value no row holds), and each parameter equal to one is replaced by the
    value given at run time. Rows come back converted as values_list() would return
    them."""

    def __init__(self, build: Callable[..., QuerySet]) -> None:
        self.build = build
        # Per connection object: connections are per thread, and so are the compilers
        # whose converters this keeps.
        self._compiled: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def sql(self, using: str = DEFAULT_DB_ALIAS, **values: int) -> tuple[str, list[Any]]:
        """The compiled SQL and its parameters for these values (to run it inside a
        larger statement; rows come back unconverted there)."""
        connection = connections[using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(using, sorted(values))
        sql, params, slots, _compiler, _converters = compiled
        params = list(params)
        for index, name in slots:
            params[index] = values[name]
        return sql, params

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values: int) -> list[list[Any]]:
        connection = connections[using]
        sql, params = self.sql(using, **values)
        _sql, _params, _slots, compiler, converters = self._compiled[connection]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:
            return list(compiler.apply_converters(rows, converters))
        return [list(row) for row in rows]

    def _compile(self, using: str, names: list[str]):
        sentinels = {name: -(2**40) - index for index, name in enumerate(names)}
        compiler = self.build(**sentinels).query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in sentinels.items()}
        slots = [(index, by_value[param]) for index, param in enumerate(params)
                 if isinstance(param, int) and param in by_value]
        if {name for _, name in slots} != set(names):
            raise ImproperlyConfigured(f"Not every parameter of {self.build} is in its SQL.")
        fields = [select[0] for select in compiler.select[0:compiler.col_count]]
        return sql, tuple(params), slots, compiler, compiler.get_converters(fields)


def unread_messages_of(member: Member | int | OuterRef) -> QuerySet[Message]:
    """Messages of the outer participant's conversation that `member` has not read:
    newer than their mark, visible, not their own. The one definition of "unread"."""
    return Message.objects.filter(
        conversation=OuterRef("conversation"),
        id__gt=OuterRef("last_read_message_id"),
        hidden_at__isnull=True,
    ).exclude(sender=member)


def inbox_of(member: Member) -> QuerySet[Participant]:
    """The member's current conversations, most recent activity first, each with
    `unread` (how many messages they have not read) and `last_message` (id)."""
    unread = (
        unread_messages_of(member).order_by().values("conversation")
        .annotate(n=Count("id")).values("n")
    )
    last = (
        Message.objects.filter(conversation=OuterRef("conversation"), hidden_at__isnull=True)
        .order_by("-id").values("id")[:1]
    )
    return (
        Participant.objects.filter(member=member, left_at__isnull=True)
        .select_related("conversation__listing", "conversation__exchange__listing")
        .annotate(
            unread=Coalesce(Subquery(unread, output_field=IntegerField()), 0),
            last_message_id=Subquery(last, output_field=IntegerField()),
        )
        .order_by("-conversation__last_message_at", "-conversation__created_at", "-id")
    )


def _unread_conversations(member_id: int) -> QuerySet[Participant]:
    return Participant.objects.filter(member_id=member_id, left_at__isnull=True).filter(
        Exists(unread_messages_of(member_id))
    )


def unread_conversations_count(member: Member) -> int:
    """How many of the member's conversations have something they have not read."""
    return _unread_conversations(member.pk).count()


# Both counts of the navigation in one query: pushed after new messages, so compiled once.
_counts_query = CompiledValues(lambda member: Member.objects.filter(pk=member).values_list(
    Coalesce(Subquery(
        Notification.objects.filter(member=OuterRef("pk"), read_at__isnull=True)
        .order_by().values("member").annotate(n=Count("pk")).values("n"),
        output_field=IntegerField(),
    ), 0),
    Coalesce(Subquery(
        _unread_conversations(member).order_by().values("member")
        .annotate(n=Count("pk")).values("n"),
        output_field=IntegerField(),
    ), 0),
))


def nav_counts(member_id: int) -> dict[str, int]:
    """{"notifications": unread notifications, "messages": conversations with unread
    messages} for the member (zeros for a member that no longer exists)."""
    rows = _counts_query.rows(member=member_id)
    notifications, messages = rows[0] if rows else (0, 0)
    return {"notifications": notifications, "messages": messages}
