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

        from members import contacts

        # The members one sent time to or received time from.
        contacts.register("ledger", _traded_time_with)


def _traded_time_with(member) -> list[int]:
    from django.db.models import Q

    from ledger.models import Transfer

    transfers = Transfer.objects.filter(
        Q(from_account__member=member) | Q(to_account__member=member)
    ).values_list("from_account__member_id", "to_account__member_id").distinct()
    return [pk for pair in transfers for pk in pair if pk is not None]
