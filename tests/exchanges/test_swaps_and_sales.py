"""Swaps, sales and gifts: one taker only, and completion closes what changed hands."""

from __future__ import annotations

import pytest

from exchanges.models import Exchange, State
from exchanges.services import (
    ExchangeError,
    exchange_accept,
    exchange_call_off,
    exchange_complete,
    exchange_decline,
    exchange_request,
    exchange_start,
)
from listings.models import Listing, Status, Terms
from tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


def state_of(exchange: Exchange) -> str:
    return Exchange.objects.values_list("state", flat=True).get(pk=exchange.pk)


def status_of(listing: Listing) -> str:
    return Listing.objects.values_list("status", flat=True).get(pk=listing.pk)


def test_a_sale_has_one_buyer_only(bike, alice, bob, carol):
    bobs, carols = exchange_request(listing=bike, asker=bob), exchange_request(listing=bike, asker=carol)
    exchange_accept(exchange=bobs, by=alice)
    with pytest.raises(ExchangeError, match="already accepted another request"):
        exchange_accept(exchange=carols, by=alice)
    assert state_of(carols) == State.REQUESTED


def test_a_called_off_sale_lets_the_seller_accept_another_buyer(bike, alice, bob, carol):
    bobs, carols = exchange_request(listing=bike, asker=bob), exchange_request(listing=bike, asker=carol)
    exchange_accept(exchange=bobs, by=alice)
    exchange_call_off(exchange=bobs, by=bob, note="Found one elsewhere.")
    exchange_accept(exchange=carols, by=alice)
    assert state_of(carols) == State.ACCEPTED


def test_a_completed_sale_closes_the_listing_and_no_one_else_can_buy(bike, alice, bob, carol):
    bobs, carols = exchange_request(listing=bike, asker=bob), exchange_request(listing=bike, asker=carol)
    exchange_accept(exchange=bobs, by=alice)
    exchange_start(exchange=bobs, by=alice)
    assert status_of(bike) == Status.ACTIVE  # closed only once the buyer has it
    with pytest.raises(ExchangeError):
        exchange_complete(exchange=bobs, by=alice)  # the buyer confirms, not the seller
    exchange_complete(exchange=bobs, by=bob)
    assert status_of(bike) == Status.CLOSED
    with pytest.raises(ExchangeError):
        exchange_accept(exchange=carols, by=alice)
    assert state_of(carols) == State.REQUESTED
    with pytest.raises(ExchangeError, match="not available"):
        exchange_request(listing=bike, asker=ListingFactory().owner)


def test_a_gift_goes_from_request_to_done_at_no_price(armchair, alice, bob, carol):
    gift = exchange_request(listing=armchair, asker=bob, message="I can pick it up tonight.")
    other = exchange_request(listing=armchair, asker=carol)
    exchange_decline(exchange=other, by=alice)
    exchange_accept(exchange=gift, by=alice)
    exchange_start(exchange=gift, by=alice)
    exchange_complete(exchange=gift, by=bob)
    gift.refresh_from_db()
    assert (gift.state, gift.amount_cents) == (State.COMPLETED, 0)
    assert status_of(armchair) == Status.CLOSED


def test_a_swap_has_one_taker_only(board_game, alice, bob, carol, lamp):
    vase = ListingFactory(owner=carol, terms=Terms.SWAP, title="Vase")
    bobs = exchange_request(listing=board_game, asker=bob, offered=[lamp])
    carols = exchange_request(listing=board_game, asker=carol, offered=[vase])
    exchange_accept(exchange=bobs, by=alice)
    with pytest.raises(ExchangeError, match="already accepted another request"):
        exchange_accept(exchange=carols, by=alice)


def test_a_swap_cannot_be_accepted_once_an_offered_item_is_gone(board_game, alice, bob, lamp):
    swap = exchange_request(listing=board_game, asker=bob, offered=[lamp])
    Listing.objects.filter(pk=lamp.pk).update(status=Status.PAUSED)
    with pytest.raises(ExchangeError, match="no longer available"):
        exchange_accept(exchange=swap, by=alice)
    assert state_of(swap) == State.REQUESTED


@pytest.mark.parametrize(("starter", "finisher"), [("alice", "bob"), ("bob", "alice")])
def test_a_completed_swap_closes_every_listing_in_it(request, board_game, alice, bob, carol, lamp,
                                                     starter, finisher):
    book = ListingFactory(owner=bob, terms=Terms.GIVE, title="Book")
    untouched = ListingFactory(owner=bob, terms=Terms.SWAP, title="Not offered")
    swap = exchange_request(listing=board_game, asker=bob, offered=[lamp, book])
    exchange_accept(exchange=swap, by=alice)
    exchange_start(exchange=swap, by=request.getfixturevalue(starter))
    exchange_complete(exchange=swap, by=request.getfixturevalue(finisher))
    assert [status_of(x) for x in (board_game, lamp, book)] == [Status.CLOSED] * 3
    assert status_of(untouched) == Status.ACTIVE


def test_completion_leaves_a_listing_a_moderator_removed_as_removed(board_game, alice, bob, lamp):
    swap = exchange_request(listing=board_game, asker=bob, offered=[lamp])
    exchange_accept(exchange=swap, by=alice)
    exchange_start(exchange=swap, by=alice)
    Listing.objects.filter(pk=lamp.pk).update(status=Status.REMOVED)
    exchange_complete(exchange=swap, by=bob)
    assert (status_of(board_game), status_of(lamp)) == (Status.CLOSED, Status.REMOVED)


def test_a_call_off_closes_nothing(bike, alice, bob):
    sale = exchange_request(listing=bike, asker=bob)
    exchange_accept(exchange=sale, by=alice)
    exchange_call_off(exchange=sale, by=alice)
    assert status_of(bike) == Status.ACTIVE
