"""The ledger admin: read-only for everyone, reversals and limit changes only through
the services, each with a reason."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import Permission
from django.urls import reverse

from ledger import services
from ledger.models import Account, Entry, LimitChange, Transfer
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = MemberFactory(display_name="Root", is_staff=True, is_superuser=True)
    client.force_login(admin)
    client.admin = admin
    return client


@pytest.fixture
def transfer(member, other_member) -> Transfer:
    return services.transfer_post(payer=member, payee=other_member, minutes=90,
                                  idempotency_key=uuid.uuid4().hex, note="mowing")


def _balance(member) -> int:
    return services.account_for(member).balance_minutes


@pytest.mark.parametrize("model", ["transfer", "entry", "account", "limitchange"])
def test_the_ledger_admin_is_read_only_even_for_superusers(admin_client, transfer, model):
    from django.contrib import admin

    model_class = {"transfer": Transfer, "entry": Entry, "account": Account,
                   "limitchange": LimitChange}[model]
    model_admin = admin.site._registry[model_class]
    request = type("R", (), {"user": admin_client.admin})()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert admin_client.get(reverse(f"admin:ledger_{model}_add")).status_code == 403
    assert admin_client.get(reverse(f"admin:ledger_{model}_changelist")).status_code == 200


def test_a_transfer_cannot_be_edited_or_deleted_through_the_admin(admin_client, transfer):
    change = reverse("admin:ledger_transfer_change", args=[transfer.pk])
    page = admin_client.get(change)
    assert page.status_code == 200 and 'name="minutes"' not in page.content.decode()
    admin_client.post(change, {"minutes": 1, "note": "edited"})
    assert admin_client.get(reverse("admin:ledger_transfer_delete", args=[transfer.pk])).status_code == 403
    transfer.refresh_from_db()
    assert transfer.minutes == 90 and transfer.note == "mowing"
    delete_all = admin_client.post(reverse("admin:ledger_transfer_changelist"), {
        "action": "delete_selected", ACTION_CHECKBOX_NAME: [transfer.pk], "index": 0})
    assert delete_all.status_code in (200, 302)
    assert Transfer.objects.filter(pk=transfer.pk).exists()


def _reverse_action(client, transfer, **extra):
    return client.post(reverse("admin:ledger_transfer_changelist"), {
        "action": "reverse_transfers", ACTION_CHECKBOX_NAME: [transfer.pk], **extra})


def test_reversing_asks_for_a_reason_first(admin_client, transfer):
    response = _reverse_action(admin_client, transfer)
    assert response.status_code == 200
    assert 'name="reason"' in response.content.decode()
    assert Transfer.objects.count() == 1


def test_reversing_without_a_reason_posts_nothing(admin_client, transfer):
    response = _reverse_action(admin_client, transfer, apply="1", reason="  ")
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert Transfer.objects.count() == 1


def test_reversing_with_a_reason_posts_the_reversal_once(admin_client, transfer, member, other_member):
    response = _reverse_action(admin_client, transfer, apply="1", reason="Lawn was never mowed")
    assert response.status_code == 302
    reversal = Transfer.objects.get(reverses=transfer)
    assert reversal.note == "Lawn was never mowed" and reversal.created_by == admin_client.admin
    assert _balance(member) == 0 and _balance(other_member) == 0
    _reverse_action(admin_client, transfer, apply="1", reason="again")
    assert Transfer.objects.count() == 2


def test_reversing_a_reversal_is_reported_not_posted(admin_client, transfer):
    reversal = services.transfer_reverse(transfer=transfer, by=None, reason="oops")
    response = _reverse_action(admin_client, reversal, apply="1", reason="undo the undo")
    page = admin_client.get(response["Location"])
    assert "itself a reversal" in page.content.decode()
    assert Transfer.objects.count() == 2


def test_staff_without_the_permission_cannot_reverse(client, transfer):
    staff = MemberFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_transfer"))
    client.force_login(staff)
    assert client.get(reverse("admin:ledger_transfer_changelist")).status_code == 200
    _reverse_action(client, transfer, apply="1", reason="I think so")
    assert Transfer.objects.count() == 1


def _limits_action(client, member, **extra):
    account = services.account_for(member)
    return client.post(reverse("admin:ledger_account_changelist"), {
        "action": "change_limits", ACTION_CHECKBOX_NAME: [account.pk], **extra})


def test_changing_limits_asks_for_a_reason(admin_client, member):
    assert 'name="reason"' in _limits_action(admin_client, member).content.decode()
    response = _limits_action(admin_client, member, apply="1", credit_limit_minutes=-1200,
                              max_balance_minutes=3000, reason="")
    assert response.status_code == 200
    assert not LimitChange.objects.exists()
    assert services.account_for(member).credit_limit_minutes == -600


def test_changing_limits_is_logged(admin_client, member):
    response = _limits_action(admin_client, member, apply="1", credit_limit_minutes=-1200,
                              max_balance_minutes=3000, reason="Trusted helper")
    assert response.status_code == 302
    account = services.account_for(member)
    assert (account.credit_limit_minutes, account.max_balance_minutes) == (-1200, 3000)
    change = LimitChange.objects.get()
    assert change.changed_by == admin_client.admin and change.reason == "Trusted helper"
    assert (change.old_credit_limit_minutes, change.new_credit_limit_minutes) == (-600, -1200)
    page = admin_client.get(reverse("admin:ledger_account_change", args=[account.pk]))
    assert "Trusted helper" in page.content.decode()


def test_a_positive_credit_limit_is_refused(admin_client, member):
    response = _limits_action(admin_client, member, apply="1", credit_limit_minutes=60,
                              max_balance_minutes=3000, reason="why not")
    assert response.status_code == 200
    assert not LimitChange.objects.exists()


def test_accounts_can_be_searched_by_email_and_name(admin_client, member, other_member):
    response = admin_client.get(reverse("admin:ledger_account_changelist"), {"q": "alice"})
    assert list(response.context["cl"].result_list) == [services.account_for(member)]
    response = admin_client.get(reverse("admin:ledger_account_changelist"), {"q": other_member.email})
    assert list(response.context["cl"].result_list) == [services.account_for(other_member)]
