from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Reviews")

    def ready(self) -> None:
        # reviews listens to exchanges; exchanges never imports reviews.
        from reviews import receivers

        receivers.connect()
