"""The seeded category tree. Names are in English and marked for translation here;
`Category.label` translates them on display."""

from django.utils.translation import gettext_noop as N_

# (slug, name, icon, children)
CATEGORY_TREE: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    ("tools", N_("Tools"), "🔧", [
        ("power-tools", N_("Power tools")), ("hand-tools", N_("Hand tools")),
        ("ladders", N_("Ladders and scaffolding")), ("workshop", N_("Workshop")),
    ]),
    ("garden", N_("Garden"), "🌱", [
        ("garden-tools", N_("Garden tools")), ("plants-seeds", N_("Plants and seeds")),
        ("outdoor-furniture", N_("Outdoor furniture")),
    ]),
    ("kitchen", N_("Kitchen"), "🍳", [
        ("appliances", N_("Appliances")), ("cookware", N_("Cookware")),
        ("preserving", N_("Preserving and baking")),
    ]),
    ("kids", N_("Kids"), "🧸", [
        ("toys", N_("Toys and games")), ("baby-gear", N_("Baby gear")),
        ("kids-clothes", N_("Kids' clothes")),
    ]),
    ("sports", N_("Sports and outdoors"), "🚲", [
        ("bikes", N_("Bikes")), ("camping", N_("Camping")),
        ("winter-sports", N_("Winter sports")), ("water-sports", N_("Water sports")),
    ]),
    ("electronics", N_("Electronics"), "💻", [
        ("computers", N_("Computers")), ("audio-video", N_("Audio and video")),
        ("phones", N_("Phones and tablets")),
    ]),
    ("books", N_("Books and media"), "📚", [
        ("books-adults", N_("Books")), ("books-kids", N_("Children's books")),
        ("music-films", N_("Music and films")),
    ]),
    ("home", N_("Home and furniture"), "🛋", [
        ("furniture", N_("Furniture")), ("decoration", N_("Decoration")),
        ("party", N_("Party and events")),
    ]),
    ("home-services", N_("Home services"), "🏠", [
        ("cleaning", N_("Cleaning")), ("moving", N_("Moving help")),
        ("gardening-help", N_("Gardening help")),
    ]),
    ("lessons", N_("Lessons"), "🎓", [
        ("languages", N_("Languages")), ("music-lessons", N_("Music")),
        ("tutoring", N_("Tutoring")), ("computing-help", N_("Computer help")),
    ]),
    ("care", N_("Care"), "🤝", [
        ("babysitting", N_("Babysitting")), ("pet-care", N_("Pet care")),
        ("elder-care", N_("Company and errands")),
    ]),
    ("repairs", N_("Repairs"), "🛠", [
        ("bike-repair", N_("Bike repair")), ("sewing", N_("Sewing and mending")),
        ("electronics-repair", N_("Electronics repair")), ("diy", N_("DIY and odd jobs")),
    ]),
    ("rides", N_("Rides"), "🚗", [
        ("carpool", N_("Carpooling")), ("commute", N_("Daily commute")),
    ]),
    ("other", N_("Other"), "📦", []),
]


def seed_categories(Category) -> None:
    """Create or update the tree; safe to run again (used by a data migration)."""
    for position, (slug, name, icon, children) in enumerate(CATEGORY_TREE):
        parent, _created = Category.objects.update_or_create(
            slug=slug, defaults={"name": name, "icon": icon, "position": position, "parent": None}
        )
        for child_position, (child_slug, child_name) in enumerate(children):
            Category.objects.update_or_create(
                slug=child_slug,
                defaults={"name": child_name, "icon": "", "position": child_position,
                          "parent": parent},
            )
