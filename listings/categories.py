"""The seeded category tree. Names are in English and marked for translation here;
`Category.label` translates them on display."""

from django.utils.translation import gettext_noop

# (slug, name, icon, children)
CATEGORY_TREE: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("tools", gettext_noop("Tools"), "🔧", [
        ("power-tools", gettext_noop("Power tools")), ("hand-tools", gettext_noop("Hand tools")),
        ("ladders", gettext_noop("Ladders and scaffolding")), ("workshop", gettext_noop("Workshop")),
    ]),
    ("garden", gettext_noop("Garden"), "🌱", [
        ("garden-tools", gettext_noop("Garden tools")), ("plants-seeds", gettext_noop("Plants and seeds")),
        ("outdoor-furniture", gettext_noop("Outdoor furniture")),
    ]),
    ("kitchen", gettext_noop("Kitchen"), "🍳", [
        ("appliances", gettext_noop("Appliances")), ("cookware", gettext_noop("Cookware")),
        ("preserving", gettext_noop("Preserving and baking")),
    ]),
    ("kids", gettext_noop("Kids"), "🧸", [
        ("toys", gettext_noop("Toys and games")), ("baby-gear", gettext_noop("Baby gear")),
        ("kids-clothes", gettext_noop("Kids' clothes")),
    ]),
    ("sports", gettext_noop("Sports and outdoors"), "⚽", [
        ("bikes", gettext_noop("Bikes")), ("camping", gettext_noop("Camping")),
        ("winter-sports", gettext_noop("Winter sports")), ("water-sports", gettext_noop("Water sports")),
    ]),
    ("electronics", gettext_noop("Electronics"), "💻", [
        ("computers", gettext_noop("Computers")), ("audio-video", gettext_noop("Audio and video")),
        ("phones", gettext_noop("Phones and tablets")),
    ]),
    ("books", gettext_noop("Books and media"), "📚", [
        ("books-adults", gettext_noop("Books")), ("books-kids", gettext_noop("Children's books")),
        ("music-films", gettext_noop("Music and films")),
    ]),
    ("home", gettext_noop("Home and furniture"), "🛋", [
        ("furniture", gettext_noop("Furniture")), ("decoration", gettext_noop("Decoration")),
        ("party", gettext_noop("Party and events")),
    ]),
    ("home-services", gettext_noop("Home services"), "🏠", [
        ("cleaning", gettext_noop("Cleaning")), ("moving", gettext_noop("Moving help")),
        ("gardening-help", gettext_noop("Gardening help")),
    ]),
    ("lessons", gettext_noop("Lessons"), "🎓", [
        ("languages", gettext_noop("Languages")), ("music-lessons", gettext_noop("Music")),
        ("tutoring", gettext_noop("Tutoring")), ("computing-help", gettext_noop("Computer help")),
    ]),
    ("care", gettext_noop("Care"), "🤝", [
        ("babysitting", gettext_noop("Babysitting")), ("pet-care", gettext_noop("Pet care")),
        ("elder-care", gettext_noop("Company and errands")),
    ]),
    ("repairs", gettext_noop("Repairs"), "🛠", [
        ("bike-repair", gettext_noop("Bike repair")), ("sewing", gettext_noop("Sewing and mending")),
        ("electronics-repair", gettext_noop("Electronics repair")), ("diy", gettext_noop("DIY and odd jobs")),
    ]),
    ("rides", gettext_noop("Rides"), "🚗", [
        ("carpool", gettext_noop("Carpooling")), ("commute", gettext_noop("Daily commute")),
    ]),
    ("other", gettext_noop("Other"), "📦", []),
]

# The top categories of services (time and skills); the others, but rides, are things.
SERVICE_GROUPS = frozenset({"home-services", "lessons", "care", "repairs"})


# Each subcategory's own picture, shown on the cards of listings without a photo (most
# listings are filed under a subcategory, and one picture per top category would make a
# ladder, a drill and a workbench look alike).
CHILD_ICONS: dict[str, str] = {
    "power-tools": "🪛", "hand-tools": "🔨", "ladders": "🪜", "workshop": "🧰",
    "garden-tools": "🧤", "plants-seeds": "🪴", "outdoor-furniture": "🪑",
    "appliances": "🔌", "cookware": "🍲", "preserving": "🍯",
    "toys": "🧸", "baby-gear": "🍼", "kids-clothes": "👕",
    "bikes": "🚲", "camping": "⛺", "winter-sports": "⛷️", "water-sports": "🏄",
    "computers": "💻", "audio-video": "📺", "phones": "📱",
    "books-adults": "📖", "books-kids": "📚", "music-films": "🎬",
    "furniture": "🛋️", "decoration": "🖼️", "party": "🎉",
    "cleaning": "🧹", "moving": "🚚", "gardening-help": "🌻",
    "languages": "🗣️", "music-lessons": "🎵", "tutoring": "✏️", "computing-help": "🖱️",
    "babysitting": "👶", "pet-care": "🐕", "elder-care": "☕",
    "bike-repair": "🔧", "sewing": "🧵", "electronics-repair": "🔌", "diy": "🛠️",
    "carpool": "🚗", "commute": "🚙",
}


def seed_categories(Category) -> None:
    """Create or update the tree; safe to run again (used by a data migration)."""
    for position, (slug, name, icon, children) in enumerate(CATEGORY_TREE):
        parent, _created = Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "icon": icon, "position": position, "parent": None}
        )
        for child_position, (child_slug, child_name) in enumerate(children):
            Category.objects.update_or_create(
                slug=child_slug,
                defaults={"name": child_name, "icon": CHILD_ICONS.get(child_slug, ""),
                          "position": child_position,
                          "parent": parent},
            )
