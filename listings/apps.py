from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ListingsConfig(AppConfig):
    name = "listings"
    verbose_name = _("Listings")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate, pre_migrate

        from listings import search_schema

        def register(sender, connection, **kwargs) -> None:
            search_schema.register_sqlite_functions(connection)

        def ensure(sender, using, **kwargs) -> None:
            from django.db import connections

            search_schema.ensure_sqlite_search(connections[using])

        def before(sender, using, plan=None, **kwargs) -> None:
            from django.db import connections

            if plan:  # something will migrate: it may rebuild the listing table
                search_schema.drop_sqlite_triggers(connections[using])

        connection_created.connect(register, weak=False, dispatch_uid="listings_search_fns")
        pre_migrate.connect(before, sender=self, weak=False, dispatch_uid="listings_search_pre")
        post_migrate.connect(ensure, sender=self, weak=False, dispatch_uid="listings_search")
