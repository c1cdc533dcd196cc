"""The conversation pages: the inbox, one conversation (history, plain send form, block),
and the buttons elsewhere that open one (listing, exchange, wanted post).

Everything works without JavaScript; static/js/chat.js makes the conversation page live.
Only participants see a conversation: anyone else gets 404 on every URL, never 403.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core import once
from core.fragments import render_page_or_fragment
from core.ratelimit import limit_posts, posts_not_limited
from exchanges import selectors as exchange_selectors
from listings.models import Kind, Listing, Status
from messaging import conversations, selectors
from messaging.conversations import ChatError
from messaging.forms import MessageForm, WantedAnswerForm
from messaging.models import Conversation, ConversationKind, Message, Participant

INBOX_PAGE_SIZE = 20
HISTORY_PAGE_SIZE = 30


def _get_participation(request: HttpRequest, pk: int) -> Participant:
    """The member's active place in the conversation, or 404 for anyone else."""
    participant = conversations.active_participant(pk, request.user)
    if participant is None:
        raise Http404
    return participant


def describe(conversation: Conversation, member) -> dict:
    """Title and context of a conversation as `member` sees it. A conversation with one
    other member is named after them first (two conversations about one listing are
    told apart by who they are with); `about` is what it is about."""
    other = conversations.other_member(conversation, member)
    listing = conversation.listing
    if conversation.kind == ConversationKind.RIDE and listing is not None:
        about = _("Ride group: %(from)s → %(to)s") % {
            "from": listing.origin_name, "to": listing.destination_name,
        }
    elif listing is not None:
        about = listing.title
    else:
        about = _("A listing that no longer exists")
    title = f"{other.public_name} · {about}" if other is not None else about
    return {"title": title, "about": about, "other": other, "listing": listing}


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.inbox_of(request.user), INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    places = list(page.object_list)
    last_ids = [p.last_message_id for p in places if p.last_message_id]
    last_messages = Message.objects.select_related("sender").in_bulk(last_ids)
    rows = [
        {
            "conversation": place.conversation,
            "unread": place.unread,
            "last": last_messages.get(place.last_message_id),
            **describe(place.conversation, request.user),
        }
        for place in places
    ]
    # With JavaScript the rows refresh themselves (htmx) when a conversation moves.
    return render_page_or_fragment(request, "messaging/inbox.html", "messaging/_inbox_rows.html", {
        "rows": rows, "page_obj": page,
        "page_range": page.paginator.get_elided_page_range(page.number),
    })


def _conversation_page(request: HttpRequest, participant: Participant,
                       form: MessageForm | None = None, status: int = 200) -> HttpResponse:
    conversation = participant.conversation
    member = request.user
    history = (
        Message.objects.select_related("sender", "attached_listing")
        .filter(conversation=conversation, hidden_at__isnull=True).order_by("-id")
    )
    page = Paginator(history, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = list(reversed(page.object_list))
    if page.number == 1:
        # The newest page is what was read: other devices and senders hear of it.
        conversations.conversation_mark_read(conversation=conversation, member=member)
    info = describe(conversation, member)
    other = info["other"]
    others_read = 0
    if other is not None:
        others_read = (
            Participant.objects.filter(conversation=conversation, member=other)
            .values_list("last_read_message_id", flat=True).first() or 0
        )
    own = [m.pk for m in shown if m.sender_id == member.pk]
    members = Participant.objects.filter(
        conversation=conversation, left_at__isnull=True
    ).select_related("member").order_by("joined_at", "id")
    return render(request, "messaging/conversation.html", {
        **info,
        "conversation": conversation,
        "chat_messages": shown,
        "page_obj": page,
        "newest_page": page.number == 1,
        "last_id": shown[-1].pk if page.number == 1 and shown else 0,
        "seen_id": others_read if own and others_read >= own[-1] else 0,
        "last_own_id": own[-1] if own else 0,
        "others_read": others_read,
        "refusal": conversations.posting_refusal(conversation, member),
        "i_blocked": other is not None and conversations.has_blocked(member, other.pk),
        "form": form or MessageForm(initial={"client_id": uuid.uuid4()}),
        "members": [p.member for p in members] if not conversation.is_one_to_one else [],
        "is_wanted_author": (
            conversation.kind == ConversationKind.WANTED and info["listing"] is not None
            and info["listing"].owner_id == member.pk
        ),
        "ws_path": f"/ws/conversations/{conversation.pk}/",
    }, status=status)


@login_required
@require_GET
def conversation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _conversation_page(request, _get_participation(request, pk))


@login_required
@require_POST
@posts_not_limited("conversations.message_post counts every message, sent from this page "
                   "or the socket alike (RATE_LIMIT per RATE_WINDOW), and refuses the rest")
def message_send(request: HttpRequest, pk: int) -> HttpResponse:
    participant = _get_participation(request, pk)
    form = MessageForm(request.POST)
    if form.is_valid():
        try:
            conversations.message_post(
                conversation=participant.conversation, sender=request.user,
                body=form.cleaned_data["body"], client_id=form.cleaned_data["client_id"],
            )
        except ChatError as error:
            form.add_error("body", error.messages)
        else:
            return redirect(reverse("conversations:detail", args=[pk]) + "#latest")
    return _conversation_page(request, participant, form=form, status=400)


@login_required
@require_POST
@limit_posts("block")
def member_block(request: HttpRequest, pk: int) -> HttpResponse:
    participant = _get_participation(request, pk)
    other = conversations.other_member(participant.conversation, request.user)
    if other is None:
        raise Http404
    conversations.block_member(blocker=request.user, blocked=other)
    messages.success(request, _(
        "You blocked %(name)s: neither of you can send new messages. They are not told."
    ) % {"name": other.public_name})
    return redirect("conversations:detail", pk)


@login_required
@require_POST
@limit_posts("block")
def member_unblock(request: HttpRequest, pk: int) -> HttpResponse:
    participant = _get_participation(request, pk)
    other = conversations.other_member(participant.conversation, request.user)
    if other is None:
        raise Http404
    if conversations.unblock_member(blocker=request.user, blocked=other):
        messages.success(request, _("You unblocked %(name)s.") % {"name": other.public_name})
    return redirect("conversations:detail", pk)


def _visible_listing(request: HttpRequest, pk: int) -> Listing:
    listing = get_object_or_404(Listing.objects.select_related("owner"), pk=pk)
    if listing.status != Status.ACTIVE and listing.owner_id != request.user.pk:
        raise Http404
    return listing


@login_required
@require_POST
@limit_posts("conversation_start")
def listing_contact(request: HttpRequest, listing_pk: int) -> HttpResponse:
    listing = _visible_listing(request, listing_pk)
    if listing.kind == Kind.WANTED:
        return redirect("conversations:wanted-answer", listing.pk)
    try:
        conversation = conversations.conversation_for_listing(listing=listing, member=request.user)
    except ChatError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(listing)
    return redirect(conversation)


@login_required
@require_POST
@limit_posts("conversation_start")
def exchange_contact(request: HttpRequest, exchange_pk: int) -> HttpResponse:
    exchange = exchange_selectors.exchange_for_party(request.user, exchange_pk)
    if exchange is None:
        raise Http404
    conversation = conversations.conversation_for_exchange(exchange=exchange, member=request.user)
    return redirect(conversation)


@login_required
@require_http_methods(["GET", "POST"])
@limit_posts("conversation_start")
def wanted_answer(request: HttpRequest, listing_pk: int) -> HttpResponse:
    wanted = _visible_listing(request, listing_pk)
    if wanted.kind != Kind.WANTED:
        raise Http404
    if wanted.owner_id == request.user.pk:
        messages.error(request, _("This is your own listing."))
        return redirect(wanted)
    existing = Conversation.objects.filter(
        kind=ConversationKind.WANTED, listing=wanted, member=request.user
    ).first()
    form = WantedAnswerForm(
        request.POST or None, responder=request.user,
        initial={"client_id": uuid.uuid4()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            posted = conversations.wanted_answer(
                wanted=wanted, responder=request.user, body=form.cleaned_data["body"],
                attached_listing=form.cleaned_data["attached_listing"],
                client_id=form.cleaned_data["client_id"],
            )
        except ChatError as error:
            form.add_error(None, error.messages)
        else:
            messages.success(request, _("Your answer is sent."))
            return redirect(posted.message.conversation)
    return render(request, "messaging/wanted_answer.html", {
        "wanted": wanted, "form": form, "existing": existing,
    }, status=400 if request.method == "POST" else 200)


@login_required
@require_POST
@limit_posts("exchange_request")
def attached_request(request: HttpRequest, pk: int, message_pk: int) -> HttpResponse:
    participant = _get_participation(request, pk)
    message = get_object_or_404(
        Message.objects.select_related("conversation__listing", "attached_listing"),
        pk=message_pk, conversation=participant.conversation, hidden_at__isnull=True,
    )
    from exchanges.services import ExchangeError

    try:
        sent = once.submit_once(
            member=request.user, token=once.token_from(request), action="attached_request",
            create=lambda: conversations.request_attached_listing(message=message, by=request.user),
            url_of=lambda result: (result.exchange.get_absolute_url() if result.exchange
                                   else result.listing.get_absolute_url() + "#ask"),
        )
    except (ChatError, ExchangeError) as error:
        messages.error(request, " ".join(error.messages))
        return redirect("conversations:detail", pk)
    if sent.replayed:
        once.tell_replayed(request)
        return redirect(sent.url)
    result = sent.result
    if result.exchange is not None:
        messages.success(request, _("Your request is sent. You will hear back here."))
        return redirect(result.exchange)
    messages.info(request, _("Choose the details of your request below, then send it."))
    return redirect(result.listing.get_absolute_url() + "#ask")
