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
