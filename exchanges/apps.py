from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExchangesConfig(AppConfig):
    name = "exchanges"
    verbose_name = _("Exchanges")

    def ready(self) -> None:
        from django.urls import reverse

        from ledger import references

        # Service trades post transfers referenced "exchange:<pk>": statements link them.
        references.register("exchange", lambda pk: reverse("exchanges:detail", args=[pk]))

        from members import contacts

        # The other party of every exchange one asked for or was asked for.
        contacts.register("exchanges", _counterparts)


def _counterparts(member) -> list[int]:
    from django.db.models import Q

    from exchanges.models import Exchange

    deals = Exchange.objects.filter(Q(asker=member) | Q(owner=member))
    return [pk for pair in deals.values_list("asker_id", "owner_id").distinct() for pk in pair]
