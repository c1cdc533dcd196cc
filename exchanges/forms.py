"""Exchange forms: the request form on a listing page (one per kind of deal), the note
that goes with an action, and the owner's blocked days. They check the shape of what
was typed; the services decide what is allowed. They never save anything."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from exchanges import selectors
from exchanges.models import ExchangeKind
from exchanges.services import seats_left_message
from listings.models import Kind, Listing, Status, Terms
from members.models import Member

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ServiceErrorsMixin:
    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's refusal next to the field it names (or above the form)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, messages in error.message_dict.items():
            target = name if name in self.fields and name != NON_FIELD_ERRORS else None
            for message in messages:
                self.add_error(target, message)


class RequestForm(ServiceErrorsMixin, forms.Form):
    """The message every request carries; subclasses add what their kind needs."""

    message = forms.CharField(
        label=_("Message to the owner"), max_length=2000, required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Say hello, and when and where you could meet."),
    )

    def __init__(self, *args, listing: Listing, asker: Member, **kwargs):
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("prefix", "ask")
        super().__init__(*args, **kwargs)
        self.listing = listing
        self.asker = asker
        if listing.kind == Kind.RIDE:
            self.fields["message"].label = _("Message to the driver")
        elif listing.kind == Kind.SERVICE:
            self.fields["message"].label = _("Message to the provider")
        self.order_fields([name for name in self.fields if name != "message"] + ["message"])

    def request_kwargs(self) -> dict:
        """Keyword arguments for services.exchange_request."""
        return {"message": self.cleaned_data.get("message", "")}


class LoanRequestForm(RequestForm):
    start_date = forms.DateField(label=pgettext_lazy("first day", "From"), widget=DATE_INPUT)
    end_date = forms.DateField(
        label=_("Until"), widget=DATE_INPUT, help_text=_("The day you bring it back.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate().isoformat()
        for name in ("start_date", "end_date"):
            # A hint for the date picker; the service refuses past days itself.
            self.fields[name].widget = forms.DateInput(
                attrs={"type": "date", "min": today}, format="%Y-%m-%d"
            )

    def request_kwargs(self) -> dict:
        data = self.cleaned_data
        return {**super().request_kwargs(),
                "start_date": data["start_date"], "end_date": data["end_date"]}


class RideRequestForm(RequestForm):
    seats = forms.IntegerField(
        label=_("Seats"), min_value=1, initial=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def __init__(self, *args, free_seats: int, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["seats"]
        # The service counts again on the locked listing; this only guides the input.
        field.widget.attrs.update({"min": 1, "max": max(free_seats, 1)})
        field.validators.append(_MaxSeats(free_seats))
        field.help_text = ngettext(
            "%(free)s seat left.", "%(free)s seats left.", max(free_seats, 0)
        ) % {"free": max(free_seats, 0)}

    def request_kwargs(self) -> dict:
        return {**super().request_kwargs(), "seats": self.cleaned_data["seats"]}


class _MaxSeats:
    def __init__(self, free: int) -> None:
        self.free = free

    def __call__(self, value: int) -> None:
        if value is not None and value > self.free:
            raise ValidationError(seats_left_message(self.free), code="max_seats")


class SwapRequestForm(RequestForm):
    offered = forms.ModelMultipleChoiceField(
        label=_("What you offer in return"), queryset=Listing.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Offer at least one of your listings.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["offered"].queryset = selectors.swappable_listings_of(
            self.asker, besides=self.listing
        )

    def request_kwargs(self) -> dict:
        return {**super().request_kwargs(), "offered": list(self.cleaned_data["offered"])}


class SaleRequestForm(RequestForm):
    pass


def format_hours(minutes: int | None) -> str:
    """Minutes as the hours field shows them: 60 -> "1", 90 -> "1:30"."""
    if not minutes:
        return ""
    whole, rest = divmod(minutes, 60)
    return f"{whole}:{rest:02d}" if rest else str(whole)


class HoursField(forms.CharField):
    """Hours as people type them — "2", "1.5", "1,5" or "1:30" — cleaned to whole
    minutes. Only the shape is checked here; the services check the range."""

    default_error_messages = {
        "invalid": _("Write the time in hours, like 1.5 or 1:30."),
    }

    def __init__(self, **kwargs):
        # No max_length: its validator would run on the cleaned minutes (an int).
        kwargs.setdefault("widget", forms.TextInput(
            attrs={"inputmode": "decimal", "size": 6, "maxlength": 10}
        ))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value).strip().lower().removesuffix("h").strip()
        if not text:
            return None
        try:
            if len(text) > 10:
                raise ValueError
            if ":" in text:
                hours, _sep, minutes = text.partition(":")
                if not (hours or "0").isdigit() or not minutes.isdigit() or int(minutes) >= 60:
                    raise ValueError
                return int(hours or 0) * 60 + int(minutes)
            number = text.replace(",", ".")
            # Plain decimals only: Decimal also reads "1e4300", whose minutes would be an
            # integer too long to print.
            if not number.replace(".", "", 1).isdigit():
                raise ValueError
            total = Decimal(number) * 60
            if total != total.to_integral_value():
                raise ValueError
            return int(total)
        except (ValueError, ArithmeticError):
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class ServiceRequestForm(RequestForm):
    """Hours asked for; optionally one of the asker's own services given in return (a
    swap of services, with its own time). Without one, the asker pays in hours."""

    minutes = HoursField(
        label=_("Time needed (hours)"),
        help_text=_("For example 1.5 or 1:30."),
    )
    offered = forms.ModelChoiceField(
        label=_("What you give in return"), queryset=Listing.objects.none(), required=False,
        widget=forms.RadioSelect, blank=True, empty_label=_("Hours from my time account"),
        help_text=_("Offer one of your services instead: each of you records the time you "
                    "gave and confirms the other's, and hours move both ways."),
    )
    return_minutes = HoursField(
        label=_("Time you give in return (hours)"), required=False,
        help_text=_("Only with a service in return; by default the hours it asks."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["minutes"].initial = format_hours(self.listing.hours_minutes)
        services = Listing.objects.filter(
            owner=self.asker, kind=Kind.SERVICE, terms=Terms.BARTER, status=Status.ACTIVE
        ).exclude(pk=self.listing.pk).order_by("title", "id")
        if services.exists():
            self.fields["offered"].queryset = services
            self.fields["offered"].initial = ""  # paying in hours is checked until one is chosen
        else:
            # Nothing to offer: the plain request, paid in hours.
            del self.fields["offered"], self.fields["return_minutes"]

    def request_kwargs(self) -> dict:
        given = self.cleaned_data.get("offered")
        return {**super().request_kwargs(), "minutes": self.cleaned_data["minutes"],
                "offered": [given] if given else [],
                "return_minutes": self.cleaned_data.get("return_minutes") if given else None}


class RecordTimeForm(ServiceErrorsMixin, forms.Form):
    """The time a provider spent on a service trade (in a swap, each member's own)."""

    minutes = HoursField(label=_("Time spent (hours)"), help_text=_("For example 1.5 or 1:30."))
    # Shown only once the service asked (a time far above the agreed one).
    confirm_far_above = forms.BooleanField(required=False, widget=forms.HiddenInput)
    asks_confirmation = False

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("prefix", "time")
        super().__init__(*args, **kwargs)

    def ask_to_confirm(self, hours: str) -> None:
        """The provider must say the time is right: the box to tick appears, unticked."""
        field = self.fields["confirm_far_above"]
        field.widget = forms.CheckboxInput()
        field.label = _("Yes, it really took %(hours)s") % {"hours": hours}
        self._bound_fields_cache.pop("confirm_far_above", None)  # built with the old label
        self.asks_confirmation = True


FORMS_BY_KIND = {
    ExchangeKind.LOAN: LoanRequestForm,
    ExchangeKind.RIDE: RideRequestForm,
    ExchangeKind.SWAP: SwapRequestForm,
    ExchangeKind.SALE: SaleRequestForm,
    ExchangeKind.SERVICE: ServiceRequestForm,
}


def request_form_for(
    listing: Listing, asker: Member, kind: str, data=None, *, free_seats: int | None = None
) -> RequestForm | None:
    """The request form fitting this kind of deal, or None when it takes no request."""
    form_class = FORMS_BY_KIND.get(kind)
    if form_class is None:
        return None
    extra = {"free_seats": free_seats or 0} if form_class is RideRequestForm else {}
    return form_class(data, listing=listing, asker=asker, **extra)


class ActionForm(forms.Form):
    """The optional note sent with an action (a dispute needs one: the service says so)."""

    note = forms.CharField(max_length=2000, required=False)


class BlockedPeriodForm(ServiceErrorsMixin, forms.Form):
    start_date = forms.DateField(label=pgettext_lazy("first day", "From"), widget=DATE_INPUT)
    end_date = forms.DateField(label=_("Until"), widget=DATE_INPUT)
    note = forms.CharField(
        label=_("Note for yourself"), max_length=200, required=False,
        help_text=_("Optional, for example “on holiday”. Only you see it."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("prefix", "block")
        super().__init__(*args, **kwargs)
