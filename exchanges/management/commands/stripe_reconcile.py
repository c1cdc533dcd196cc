"""Catch up with Stripe: apply the events webhooks missed, finish refunds and releases
left undone, and release deposit holds before they lapse.

Run it from cron (hourly is fine). It is idempotent: each event is applied once (the
same handler as the webhook, keyed by event id), a refunded or released payment is left
alone, so running it twice does nothing more.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exchanges import payments


class Command(BaseCommand):
    help = "Apply missed Stripe events, retry pending refunds and release expiring deposit holds."

    def handle(self, *args, **options) -> None:
        if not payments.stripe_configured():
            self.stdout.write("Stripe is not configured (STRIPE_SECRET_KEY): nothing to do.")
            return
        try:
            done = payments.reconcile()
        except payments.stripe.StripeError as error:
            raise CommandError(f"Stripe did not answer: {error}") from error
        self.stdout.write(
            f"Applied {len(done['events'])} missed event(s)"
            + (f": {', '.join(done['events'])}" if done["events"] else "") + ".\n"
            f"Settled {len(done['settled'])} payment(s) of cancelled deals.\n"
            f"Released {len(done['released'])} deposit hold(s)."
        )
        if done["failed"]:
            self.stderr.write(f"Failed (retried next run): {', '.join(done['failed'])}")
