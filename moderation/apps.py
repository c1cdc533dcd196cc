from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = _("Moderation")

    def ready(self) -> None:
        from moderation.permissions import on_post_migrate

        # After every app's permissions exist (auth creates them on post_migrate too;
        # this app is listed after those it grants on).
        post_migrate.connect(on_post_migrate, sender=self, dispatch_uid="moderators_group")
