"""Listing forms. They turn what a member types into a services.ListingData (euros into
integer cents, hours into integer minutes, town names into points) and show the
service's refusals next to the fields they concern. They never save anything."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

from core import geo
from listings.categories import SERVICE_GROUPS
from listings.models import (
    TERMS_BY_KIND,
    WANTED_TERMS_LABELS,
    Category,
    Condition,
    Kind,
    Listing,
    ServicePlace,
    Terms,
)
from listings.services import (
    MAX_AMOUNT_CENTS,
    MAX_LOAN_BUFFER_DAYS,
    MAX_MINUTES,
    ListingData,
    default_place_for,
)
from members.models import Member

# Digits with at most one decimal separator: no exponents, no "NaN", no thousands dots.
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_CLOCK = re.compile(r"(\d+)[:h](\d{1,2})")
# Spaces people put in amounts: "1 250,00 €" (plain, no-break and narrow no-break).
_SPACES = re.compile(r"[\s\u00a0\u202f]")

# Service field names that a form shows under another name.
SERVICE_TO_FORM_FIELD = {
    "price_cents": "price",
    "deposit_cents": "deposit",
    "hours_minutes": "hours",
    "duration_minutes": "duration",
    "origin_name": "origin",
    "destination_name": "destination",
    "place_name": "town",
}


def parse_euros(text: str) -> int:
    """'12.50', '12,50', '12', '1 250 €' -> integer cents, exactly (Decimal, never float).
    Raises ValidationError for anything else, negatives, fractions of a cent and
    amounts above the platform's bound."""
    cleaned = _SPACES.sub("", text or "").removesuffix("€").removeprefix("€")
    if len(cleaned) > 20 or not _NUMBER.fullmatch(cleaned):
        raise ValidationError(_("Enter an amount in euros, for example 12.50."), code="invalid")
    amount = Decimal(cleaned.replace(",", "."))
    if amount < 0:
        raise ValidationError(_("An amount cannot be negative."), code="negative")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationError(_("Use at most two decimals (cents)."), code="decimals")
    cents = int(amount * 100)
    if cents > MAX_AMOUNT_CENTS:
        raise ValidationError(
            _("That is more than %(max)s €; check the amount.")
            % {"max": number_format(MAX_AMOUNT_CENTS // 100, force_grouping=True)},
            code="too_large",
        )
    return cents


def format_euros(cents: int | None) -> str:
    if not cents:
        return ""
    euros, rest = divmod(cents, 100)
    return f"{euros}.{rest:02d}" if rest else str(euros)


def parse_hours(text: str) -> int:
    """'1.5', '1,5', '2', '1:20', '1h20' -> integer minutes, exactly. Refuses what is not
    a whole number of minutes (1.33 h), zero, negatives and more than MAX_MINUTES."""
    cleaned = _SPACES.sub("", (text or "").lower()).removesuffix("h")
    if len(cleaned) > 10:
        raise ValidationError(_("Enter hours, for example 1.5 or 1:30."), code="invalid")
    clock = _CLOCK.fullmatch(cleaned)
    if clock:
        hours, minutes = int(clock[1]), int(clock[2])
        if minutes >= 60:
            raise ValidationError(_("Minutes go from 00 to 59."), code="invalid")
        total = hours * 60 + minutes
    else:
        if not _NUMBER.fullmatch(cleaned):
            raise ValidationError(
                _("Enter hours, for example 1.5 or 1:30."), code="invalid"
            )
        try:
            amount = Decimal(cleaned.replace(",", "."))
        except InvalidOperation as error:  # pragma: no cover - the pattern rules it out
            raise ValidationError(_("Enter hours, for example 1.5 or 1:30."), code="invalid") from error
        if amount < 0:
            raise ValidationError(_("Time cannot be negative."), code="negative")
        minutes_exact = amount * 60
        if minutes_exact != minutes_exact.to_integral_value():
            raise ValidationError(
                _("That is not a whole number of minutes; write it as 1:20, for example."),
                code="minutes",
            )
        total = int(minutes_exact)
    if total <= 0:
        raise ValidationError(_("Give a time longer than zero."), code="zero")
    if total > MAX_MINUTES:
        raise ValidationError(
            _("That is more than %(max)s hours; check the time.") % {"max": MAX_MINUTES // 60},
            code="too_large",
        )
    return total


def format_hours(minutes: int | None) -> str:
    if not minutes:
        return ""
    if (minutes * 100) % 60 == 0:
        text = f"{Decimal(minutes) / 60:f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{minutes // 60}:{minutes % 60:02d}"


class EurosField(forms.CharField):
    """An amount typed in euros, cleaned to integer cents (0 when left empty)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        # No max_length: CharField would check it on the cleaned integer.
        kwargs.setdefault("widget", forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "maxlength": 20}
        ))
        super().__init__(**kwargs)

    def to_python(self, value) -> int:
        text = super().to_python(value)
        return parse_euros(text) if text else 0

    def prepare_value(self, value):
        return format_euros(value) if isinstance(value, int) else value


class HoursField(forms.CharField):
    """A time typed in hours ('1.5' or '1:30'), cleaned to integer minutes (None if empty)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.TextInput(
            attrs={"inputmode": "decimal", "autocomplete": "off", "maxlength": 10}
        ))
        super().__init__(**kwargs)

    def to_python(self, value) -> int | None:
        text = super().to_python(value)
        return parse_hours(text) if text else None

    def prepare_value(self, value):
        return format_hours(value) if isinstance(value, int) else value


class TownField(forms.CharField):
    """A town name, resolved with core.geo.find_town in the form's clean(). With
    JavaScript, htmx fills the field's own <datalist> from members:towns as one types
    (listings/_field.html renders the datalist); without it, a typed name works."""

    def __init__(self, *, datalist_id: str, **kwargs):
        self.datalist_id = datalist_id
        kwargs.setdefault("max_length", 120)
        kwargs.setdefault("widget", forms.TextInput(attrs={
            "list": datalist_id,
            "autocomplete": "off",
            "hx-get": reverse_lazy("members:towns"),
            "hx-trigger": "input changed delay:250ms",
            "hx-target": f"#{datalist_id}",
            "hx-swap": "innerHTML",
        }))
        super().__init__(**kwargs)


UNKNOWN_TOWN = _(
    "We do not know this town. Try a larger one nearby, or add the country: “Annecy (FR)”."
)

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def category_choices(kind: str) -> tuple[list, dict[int, Category]]:
    """The seeded tree as <optgroup>s (one query). Rides pick among ride categories
    only, other kinds among all the others, their own first: a service's groups (home
    services, lessons, care, repairs) before the things', an item's after them."""
    categories = list(Category.objects.order_by("position", "name"))
    tops = [c for c in categories if c.parent_id is None]
    if kind == Kind.SERVICE:
        # A stable sort: the tree's order within each part, "Other" still last.
        tops.sort(key=lambda c: (c.slug == "other", c.slug not in SERVICE_GROUPS))
    elif kind == Kind.ITEM:
        tops.sort(key=lambda c: (c.slug == "other", c.slug in SERVICE_GROUPS))
    children: dict[int, list[Category]] = {}
    for c in categories:
        if c.parent_id is not None:
            children.setdefault(c.parent_id, []).append(c)
    choices: list = [("", _("Choose a category"))]
    allowed: dict[int, Category] = {}
    for top in tops:
        is_ride_group = top.slug == "rides"
        if is_ride_group != (kind == Kind.RIDE):
            continue
        kids = children.get(top.pk, [])
        if kids:
            choices.append((top.label, [(c.pk, c.label) for c in kids]))
            allowed.update({c.pk: c for c in kids})
        else:
            choices.append((top.pk, top.label))
            allowed[top.pk] = top
    return choices, allowed


class ListingForm(forms.Form):
    """One form for every kind; __init__ keeps only the fields the kind uses. The kind
    itself is not a field: it comes from the URL on creation and never changes after."""

    terms = forms.ChoiceField(label=_("How"), widget=forms.RadioSelect)
    title = forms.CharField(
        label=_("Title"), max_length=120,
        widget=forms.TextInput(attrs={"placeholder": _("For example: Cordless drill with two batteries")}),
    )
    description = forms.CharField(
        label=_("Description"), max_length=4000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    category = forms.TypedChoiceField(label=_("Category"), coerce=int, empty_value=None)
    condition = forms.ChoiceField(
        label=_("Condition"), choices=[("", _("Choose…")), *Condition.choices]
    )
    price = EurosField(label=_("Price (€)"))
    deposit = EurosField(
        label=_("Deposit (€)"),
        help_text=_("Only for a loan: returned when the thing comes back in good shape."),
    )
    loan_buffer_days = forms.IntegerField(
        label=_("Days kept free between loans"), min_value=0, max_value=MAX_LOAN_BUFFER_DAYS,
        required=False, widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text=_("Only for a loan: days nobody can borrow it after each return, "
                    "for cleaning or repair. 0 for none."),
    )
    hours = HoursField(label=_("Hours asked"))
    town = TownField(label=_("Town"), required=False, datalist_id="town-suggestions")

    origin = TownField(
        label=_("From"), help_text=_("A town, for example Annecy."), datalist_id="origin-suggestions"
    )
    destination = TownField(
        label=_("To"), help_text=_("A town, for example Geneva."),
        datalist_id="destination-suggestions",
    )
    departs_at = forms.DateTimeField(
        label=_("Departure"),
        input_formats=[LOCAL_INPUT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT),
        help_text=_("Date and local time you leave."),
    )
    seats = forms.IntegerField(
        label=_("Seats offered"), min_value=1, max_value=8, initial=3,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    luggage_ok = forms.BooleanField(label=_("Room for luggage"), required=False)
    pets_ok = forms.BooleanField(label=_("Pets welcome"), required=False)
    smoking_ok = forms.BooleanField(label=_("Smoking allowed"), required=False)

    service_place = forms.ChoiceField(
        label=_("Where"), choices=ServicePlace.choices, widget=forms.RadioSelect
    )
    duration = HoursField(
        label=_("Duration (hours)"), help_text=_("About how long it takes, for example 1.5 or 1:30.")
    )

    FIELDS_BY_KIND: dict[str, tuple[str, ...]] = {
        Kind.ITEM: ("terms", "title", "description", "category", "condition", "price",
                    "deposit", "loan_buffer_days", "town"),
        Kind.RIDE: ("title", "origin", "destination", "departs_at", "seats", "price",
                    "luggage_ok", "pets_ok", "smoking_ok", "description", "category"),
        Kind.SERVICE: ("terms", "title", "description", "category", "service_place",
                       "duration", "hours", "town"),
        Kind.WANTED: ("terms", "title", "description", "category", "price", "hours", "town"),
    }

    def __init__(self, *args, kind: str, owner: Member, listing: Listing | None = None, **kwargs):
        if listing is not None:
            kwargs.setdefault("initial", self.initial_from(listing))
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.owner = owner
        self.listing = listing
        keep = self.FIELDS_BY_KIND[kind]
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        # Fields in the order the kind lists them.
        self.order_fields(keep)

        if "terms" in self.fields:
            labels = WANTED_TERMS_LABELS if kind == Kind.WANTED else {}
            self.fields["terms"].choices = [
                (value, labels.get(value) or Terms(value).label) for value in TERMS_BY_KIND[kind]
            ]
            self.fields["terms"].initial = TERMS_BY_KIND[kind][0]
        choices, self._categories = category_choices(kind)
        self.fields["category"].choices = choices
        if kind == Kind.RIDE and listing is None:
            # Most rides are plain carpooling: one less choice on a phone.
            carpool = next((c for c in self._categories.values() if c.slug == "carpool"), None)
            self.fields["category"].initial = carpool and carpool.pk
        self._tune_for_kind(kind, owner, listing)

    def _tune_for_kind(self, kind: str, owner: Member, listing: Listing | None) -> None:
        fields = self.fields
        if kind == Kind.ITEM:
            fields["price"].help_text = _(
                "To sell: the price. To lend: a daily fee, or leave empty for a free loan."
            )
            fields["price"].label = _("Price or daily fee (€)")
            fields["description"].help_text = _("What it is, its state, when it is available, what to know.")
        elif kind == Kind.RIDE:
            fields["description"].help_text = _(
                "The route and stops, room for luggage, anything passengers should know."
            )
            fields["price"].label = _("Price per seat (€)")
            fields["price"].help_text = _("Your share of fuel and tolls; leave empty for free.")
            fields["title"].widget.attrs["placeholder"] = _("For example: Annecy to Geneva, Monday morning")
        elif kind == Kind.SERVICE:
            fields["hours"].help_text = _(
                "For a barter: the hours you ask in exchange, for example 1.5 or 1:30."
            )
            fields["title"].widget.attrs["placeholder"] = _("For example: Italian conversation lessons")
            fields["description"].help_text = _(
                "What you do, when you are free, what to bring or know."
            )
        elif kind == Kind.WANTED:
            fields["price"].label = _("Budget (€)")
            fields["price"].help_text = _("What you would pay or the daily fee; optional.")
            fields["hours"].help_text = _("For a barter: the hours you offer; optional.")
            fields["title"].widget.attrs["placeholder"] = _("For example: Looking for a ladder")
            fields["description"].help_text = _(
                "What you are looking for, when you need it, what would do instead."
            )
        if "town" in fields:
            if listing is not None:
                fields["town"].help_text = _("Leave as it is to keep the current place.")
            else:
                _point, home = default_place_for(owner)
                fields["town"].help_text = (
                    _("Leave empty to use your home area (%(place)s). Only an area of about 500 m is shown.")
                    % {"place": home}
                    if home
                    else _("Leave empty if you prefer; neighbours then cannot see how far it is.")
                )

    @staticmethod
    def initial_from(listing: Listing) -> dict:
        return {
            "terms": listing.terms,
            "title": listing.title,
            "description": listing.description,
            "category": listing.category_id,
            "condition": listing.condition,
            "price": listing.price_cents,
            "deposit": listing.deposit_cents,
            "hours": listing.hours_minutes,
            "town": listing.place_name,
            "origin": listing.origin_name,
            "destination": listing.destination_name,
            "departs_at": listing.departs_at,
            "seats": listing.seats,
            "luggage_ok": listing.luggage_ok,
            "pets_ok": listing.pets_ok,
            "smoking_ok": listing.smoking_ok,
            "service_place": listing.service_place,
            "duration": listing.duration_minutes,
            "loan_buffer_days": listing.loan_buffer_days,
        }

    # --- cleaning --------------------------------------------------------------------

    def clean_category(self) -> Category:
        pk = self.cleaned_data["category"]
        category = self._categories.get(pk)
        if category is None:
            raise ValidationError(_("Choose a category from the list."), code="invalid_choice")
        return category

    def _resolve(self, name: str, stored_name: str, stored: geo.Point | None) -> tuple[geo.Point | None, str]:
        """A town typed in a field -> (point, label). An unchanged value keeps the
        stored point, so a place that is not in the gazetteer survives an edit."""
        text = (self.cleaned_data.get(name) or "").strip()
        if not text:
            return None, ""
        if self.listing is not None and text == stored_name and stored is not None:
            return stored, stored_name
        town = geo.find_town(text)
        if town is None:
            self.add_error(name, UNKNOWN_TOWN)
            return None, ""
        return town.point, town.label

    def clean(self):
        data = super().clean()
        listing = self.listing
        if "town" in self.fields and "town" not in self._errors:
            stored = None
            if listing is not None and listing.lat is not None:
                stored = geo.Point(listing.lat, listing.lng)
            self.place, self.place_name = self._resolve(
                "town", listing.place_name if listing else "", stored
            )
        else:
            self.place, self.place_name = None, ""
        if self.kind == Kind.RIDE:
            self.origin = self.destination = None
            if "origin" not in self._errors:
                stored = (
                    geo.Point(listing.origin_lat, listing.origin_lng)
                    if listing is not None and listing.origin_lat is not None else None
                )
                self.origin, data["origin"] = self._resolve(
                    "origin", listing.origin_name if listing else "", stored
                )
            if "destination" not in self._errors:
                stored = (
                    geo.Point(listing.destination_lat, listing.destination_lng)
                    if listing is not None and listing.destination_lat is not None else None
                )
                self.destination, data["destination"] = self._resolve(
                    "destination", listing.destination_name if listing else "", stored
                )
            departs_at: datetime | None = data.get("departs_at")
            # The input has minute precision: the same minute means "unchanged", which
            # lets the owner edit a ride that has already left.
            if (
                departs_at is not None
                and listing is not None
                and listing.departs_at is not None
                and listing.departs_at.replace(second=0, microsecond=0) == departs_at
            ):
                data["departs_at"] = listing.departs_at
            elif departs_at is not None and departs_at <= timezone.now():
                # The service refuses it too; saying it here shows it with the other errors.
                self.add_error("departs_at", _("The departure must be in the future."))
        return data

    def listing_data(self) -> ListingData:
        """What the member entered, for listing_create / listing_update."""
        d = self.cleaned_data
        terms = d["terms"] if "terms" in self.fields else TERMS_BY_KIND[self.kind][0]
        return ListingData(
            terms=terms,
            title=d["title"].strip(),
            description=d["description"].strip(),
            category=d["category"],
            condition=d.get("condition", ""),
            price_cents=d.get("price", 0),
            deposit_cents=d.get("deposit", 0),
            hours_minutes=d.get("hours"),
            place=self.place,
            place_name=self.place_name,
            origin_name=d.get("origin", ""),
            origin=getattr(self, "origin", None),
            destination_name=d.get("destination", ""),
            destination=getattr(self, "destination", None),
            departs_at=d.get("departs_at"),
            seats=d.get("seats"),
            luggage_ok=d.get("luggage_ok", False),
            pets_ok=d.get("pets_ok", False),
            smoking_ok=d.get("smoking_ok", False),
            service_place=d.get("service_place", ""),
            duration_minutes=d.get("duration"),
            loan_buffer_days=d.get("loan_buffer_days") or 0,
        )

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's refusal next to the field it names (or above the form)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.message_dict.items():
            target = SERVICE_TO_FORM_FIELD.get(name, name)
            if name == NON_FIELD_ERRORS or target not in self.fields:
                target = None
            for message in errors:
                self.add_error(target, message)


class SeveralFilesInput(forms.FileInput):
    allow_multiple_selected = True


class SeveralFilesField(forms.FileField):
    """One or more files (a list, in the order chosen), at most PHOTOS_PER_UPLOAD."""

    widget = SeveralFilesInput

    def clean(self, data, initial=None):
        # None when nothing was chosen: FileField's own "required" error then.
        files = (list(data) if isinstance(data, (list, tuple)) else [data]) or [None]
        if len(files) > settings.PHOTOS_PER_UPLOAD:
            raise ValidationError(
                _("Choose at most %(max)s photos at once.") % {"max": settings.PHOTOS_PER_UPLOAD},
                code="too_many")
        return [super(SeveralFilesField, self).clean(file, initial) for file in files]


class PhotoForm(forms.Form):
    # A plain FileField, not ImageField: core.images decides what an image is (formats,
    # size, pixels, full decode), and the service reports it on this field.
    image = SeveralFilesField(
        label=_("Photo"),
        help_text=_("JPEG, PNG or WebP, up to 10 MB each; you may choose several at once. "
                    "Location data is removed from the files."),
        widget=SeveralFilesInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    alt_text = forms.CharField(
        label=_("Short description"), max_length=200, required=False,
        help_text=_("What the photo shows, for people who cannot see it."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def add_service_errors(self, error: ValidationError) -> None:
        if hasattr(error, "error_dict"):
            for name, errors in error.message_dict.items():
                for message in errors:
                    self.add_error(name if name in self.fields else None, message)
        else:
            self.add_error(None, error)
