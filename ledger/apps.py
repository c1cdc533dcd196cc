from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = _("Time bank")

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_save

        from ledger.receivers import open_account_for_new_member

        post_save.connect(open_account_for_new_member, sender=settings.AUTH_USER_MODEL,
                          dispatch_uid="ledger-open-account")
