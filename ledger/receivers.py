from ledger.models import Account


def open_account_for_new_member(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """Every member has an account from the start: a row that exists can be locked, so
    two first spends of a brand-new member serialise on it instead of both passing."""
    if created and not raw:
        Account.objects.get_or_create(member=instance)
