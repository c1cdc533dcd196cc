"""What listings announce to the apps that follow them (sent after commit only)."""

from django.dispatch import Signal

# A listing became active: just created, or published again by its owner.
# Sent with `listing=`, after the transaction that activated it committed.
listing_activated = Signal()
