"""The demo town: a dozen neighbours in Annecy and about sixty listings of every kind.

Everything goes through the real services (member_update_profile, member_share_location,
listing_create, photo_add), so the demo data obeys the same rules as data entered on the
site: avatars and photos are re-encoded without metadata, consent is recorded, prices
are integers, rides leave in the future. Pictures are drawn here with Pillow; nothing
is downloaded.

`seed_demo()` is idempotent: members are keyed by email and listings by (owner, title),
and whatever already exists is left exactly as it is.
"""

from __future__ import annotations

import io
import math
import textwrap
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from core import geo
from listings.models import Category, Condition, Kind, Listing, ServicePlace, Terms
from listings.services import ListingData, listing_create, photo_add
from members.models import ConsentRecord, Member
from members.services import member_set_consent, member_share_location, member_update_profile

DEMO_PASSWORD = "partage-demo"
DEMO_LOGINS = ("alice@example.com", "bob@example.com")
# The centre of Annecy (Hôtel de ville); homes are spread within about 3 km of it.
TOWN_CENTRE = geo.Point(45.8992, 6.1294)
PHOTO_SIZE = (800, 600)
AVATAR_SIZE = 256


# --- Members ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoMember:
    key: str
    email: str
    display_name: str
    neighbourhood: str
    languages: str
    bio: str
    # Home, as kilometres north and east of the town centre.
    north_km: float
    east_km: float
    avatar_colour: tuple[int, int, int] | None = None


MEMBERS: list[DemoMember] = [
    DemoMember(
        "alice", "alice@example.com", "Alice Martin", "Vieille Ville", "French, English",
        "Gardener and weekend DIYer. I lend my tools happily: bring them back clean and "
        "we are friends for life. Ask me about seedlings in spring.",
        0.05, -0.3, (214, 96, 77),
    ),
    DemoMember(
        "bob", "bob@example.com", "Bob Carter", "Les Romains", "English, French",
        "Moved here from Bristol three years ago. I cycle to work in Geneva when it is not "
        "snowing and fix bikes in my garage on Saturdays.",
        1.3, -1.0, (64, 124, 196),
    ),
    DemoMember(
        "claire", "claire.dubois@example.com", "Claire Dubois", "Annecy-le-Vieux",
        "French, English",
        "Professeure de piano à la retraite. Je donne des cours aux enfants du quartier et "
        "j'adore échanger des graines et des confitures.",
        1.8, 1.6, (142, 90, 170),
    ),
    DemoMember(
        "karim", "karim.benali@example.com", "Karim Benali", "Novel", "French, Arabic, English",
        "Électricien. Je dépanne volontiers pour les petites réparations, en échange d'un "
        "coup de main au jardin ou d'un bon repas.",
        2.0, 0.3, (46, 139, 87),
    ),
    DemoMember(
        "sophie", "sophie.laurent@example.com", "Sophie Laurent", "Les Fins", "French, German",
        "Maman de deux enfants. Chez nous les vêtements et les jouets tournent : ce qui ne "
        "sert plus est à vous.",
        1.0, 0.2, (230, 150, 40),
    ),
    DemoMember(
        "tom", "tom.hughes@example.com", "Tom Hughes", "Bonlieu", "English",
        "Software developer working from home. Happy to sort out your computer or phone "
        "in exchange for some French conversation.",
        0.3, 0.4,
    ),
    DemoMember(
        "lucie", "lucie.bernard@example.com", "Lucie Bernard", "Cran-Gevrier",
        "French, Spanish",
        "Couturière amatrice : ourlets, fermetures éclair, petites retouches. Toujours "
        "partante pour un atelier couture entre voisins.",
        0.2, -2.4,
    ),
    DemoMember(
        "marco", "marco.rossi@example.com", "Marco Rossi", "Le Pâquier",
        "Italian, French, English",
        "Cook and hiker from Turin. I will teach you fresh pasta; I often drive to Lyon "
        "and like company on the road.",
        0.1, 0.6, (200, 60, 60),
    ),
    DemoMember(
        "emma", "emma.wilson@example.com", "Emma Wilson", "Albigny", "English, French",
        "Paddle boarder and kayaker: the lake is my back garden. Everything I own floats "
        "or goes up a mountain.",
        0.9, 1.4, (30, 150, 170),
    ),
    DemoMember(
        "julien", "julien.petit@example.com", "Julien Petit", "Trésum", "French",
        "Menuisier du dimanche avec un atelier bien équipé. Je prête mes outils à qui en "
        "prend soin.",
        -0.8, 0.5,
    ),
    DemoMember(
        "nadia", "nadia.haddad@example.com", "Nadia Haddad", "Parmelan", "French, Arabic",
        "Étudiante en master de physique. Je donne des cours de maths et de physique du "
        "collège au lycée.",
        1.3, 0.8, (180, 80, 130),
    ),
    DemoMember(
        "hugo", "hugo.moreau@example.com", "Hugo Moreau", "Vallin-Fier", "French, English",
        "I commute to Chambéry every weekday and there is nearly always a spare seat. "
        "Board games on Friday nights.",
        0.4, -1.6,
    ),
]


def home_of(spec: DemoMember) -> geo.Point:
    lat = TOWN_CENTRE.lat + spec.north_km / geo.KM_PER_DEGREE_LAT
    lng = TOWN_CENTRE.lng + spec.east_km / (
        geo.KM_PER_DEGREE_LAT * math.cos(math.radians(TOWN_CENTRE.lat))
    )
    return geo.Point(round(lat, 6), round(lng, 6))


# --- Listings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoListing:
    owner: str
    kind: str
    terms: str
    title: str
    description: str
    category: str
    condition: str = ""
    price_cents: int = 0
    deposit_cents: int = 0
    hours_minutes: int | None = None
    photos: int = 0
    # Rides: where from and to (gazetteer names), when (days from today, local time).
    origin: str = ""
    destination: str = ""
    in_days: int = 0
    at: time | None = None
    seats: int | None = None
    luggage_ok: bool = False
    pets_ok: bool = False
    smoking_ok: bool = False
    # Services.
    service_place: str = ""
    duration_minutes: int | None = None


def _item(owner, terms, title, description, category, condition=Condition.GOOD, *,
          price=0, deposit=0, photos=1) -> DemoListing:
    return DemoListing(owner, Kind.ITEM, terms, title, description, category, condition,
                       price_cents=price, deposit_cents=deposit, photos=photos)


def _ride(owner, title, description, destination, in_days, at, seats, price, *,
          origin="Annecy", **extra) -> DemoListing:
    return DemoListing(owner, Kind.RIDE, Terms.SHARE, title, description, "carpool",
                       price_cents=price, origin=origin, destination=destination,
                       in_days=in_days, at=at, seats=seats, **extra)


def _service(owner, title, description, category, place, *, hours=60, duration=60,
             terms=Terms.BARTER) -> DemoListing:
    return DemoListing(owner, Kind.SERVICE, terms, title, description, category,
                       hours_minutes=hours if terms == Terms.BARTER else None,
                       service_place=place, duration_minutes=duration)


def _wanted(owner, terms, title, description, category, *, price=0) -> DemoListing:
    return DemoListing(owner, Kind.WANTED, terms, title, description, category, price_cents=price)


L, G, W, S = Terms.LEND, Terms.GIVE, Terms.SWAP, Terms.SELL
HOME, AWAY, REMOTE = ServicePlace.PROVIDER, ServicePlace.RECEIVER, ServicePlace.REMOTE

LISTINGS: list[DemoListing] = [
    # Tools and items lent for free.
    _item("alice", L, "Electric hedge trimmer",
          "Bosch hedge trimmer, 60 cm blade, with a 20 m extension cable. Perfect for a "
          "couple of hours on a laurel hedge. Please brush the blade clean afterwards.",
          "garden-tools", photos=2),
    _item("julien", L, "Perceuse-visseuse sans fil, deux batteries",
          "Makita 18 V avec deux batteries, chargeur et un coffret de forets bois et métal. "
          "Idéale pour monter des étagères.", "power-tools", Condition.LIKE_NEW, photos=3),
    _item("julien", L, "Aluminium ladder, three sections",
          "Reaches 6.5 m fully extended, good for gutters and first-floor windows. Heavy: "
          "come with a car or a friend.", "ladders"),
    _item("karim", L, "Multimètre et pince à dénuder",
          "Multimètre numérique Fluke et pince à dénuder automatique. Je peux vous expliquer "
          "comment vous en servir.", "hand-tools", photos=2),
    _item("sophie", L, "Baby carrier for hikes",
          "Deuter Kid Comfort backpack carrier with sun shade, for children up to 18 kg. "
          "Has seen the Semnoz many times.", "baby-gear", photos=2),
    _item("emma", L, "Four-person tent",
          "Quechua family tent, sets up in ten minutes, two bedrooms. Dry and complete, "
          "with all the pegs.", "camping", photos=3),
    _item("claire", L, "Bassine à confiture en cuivre",
          "Grande bassine en cuivre de 9 litres avec son écumoire et un entonnoir à pots. "
          "La saison des abricots approche !", "preserving"),
    _item("marco", L, "Pasta machine",
          "Marcato Atlas 150 with the tagliatelle cutter. Wash it with a dry brush only, "
          "never with water.", "cookware", Condition.LIKE_NEW, photos=2),
    # Lent for a daily fee with a deposit.
    _item("julien", L, "Table saw with stand",
          "Scie sur table 1800 W, lame carbure neuve, avec son piètement. Une démonstration "
          "avant le premier prêt.", "power-tools", price=1000, deposit=15000, photos=2),
    _item("emma", L, "Inflatable paddle board with pump",
          "10'6\" all-round board, paddle, leash, pump and waterproof bag. Launch from the "
          "beach at Albigny, five minutes away.", "water-sports", Condition.LIKE_NEW,
          price=1500, deposit=20000, photos=3),
    _item("bob", L, "Cargo bike for the weekend",
          "Electric longtail cargo bike, carries two children or a week of shopping. "
          "Helmet and rain covers included.", "bikes", price=1200, deposit=30000, photos=2),
    _item("alice", L, "Nettoyeur haute pression",
          "Kärcher K4, parfait pour la terrasse et les vélos. Tuyau de 8 m et brosse "
          "rotative fournis.", "power-tools", price=800, deposit=5000),
    _item("tom", L, "Video projector and screen",
          "Full HD projector with a 2 m pull-up screen and HDMI cable. Great for a film "
          "night in the garden.", "audio-video", price=500, deposit=10000, photos=2),
    _item("hugo", L, "Coffre de toit 420 litres",
          "Coffre de toit Thule avec barres pour la plupart des voitures. Je vous aide à le "
          "monter.", "camping", price=700, deposit=8000),
    # Given away.
    _item("sophie", G, "Kids' clothes, age 4, a big bag",
          "Trousers, jumpers and two winter coats, boys and girls, age 4. All washed and "
          "folded.", "kids-clothes", photos=2),
    _item("claire", G, "Plants de tomates et courgettes",
          "Une trentaine de plants, variétés anciennes (cœur de bœuf, noire de Crimée). "
          "Venez avec une cagette.", "plants-seeds", Condition.NEW, photos=2),
    _item("tom", G, "Old laptop, works, tired battery",
          "ThinkPad from 2016 with a fresh Linux install. Fine for homework and email, "
          "needs to stay plugged in.", "computers", Condition.WORN),
    _item("lucie", G, "Chutes de tissu pour loisirs créatifs",
          "Un grand carton de coupons de coton, lin et wax. Idéal pour l'école ou les "
          "ateliers enfants.", "decoration", photos=3),
    _item("nadia", G, "Prep-school maths textbooks",
          "Maths and physics textbooks for the first two years of classes prépas, "
          "annotated in pencil.", "books-adults", Condition.FAIR),
    # Swapped.
    _item("sophie", W, "Duplo box for Kapla planks",
          "A big box of Duplo (about 200 pieces). I would love Kapla planks in exchange.",
          "toys", photos=2),
    _item("emma", W, "Ski boots size 38 for size 39",
          "Women's touring boots, size 38 (24.5). I am looking for the same in 39.",
          "winter-sports", photos=2),
    _item("marco", W, "Italian cookbooks to swap",
          "Three classics: Artusi, Il cucchiaio d'argento and a Piedmont book. Any good "
          "French cookbook in exchange.", "books-adults", photos=1),
    _item("bob", W, "Roues de vélo de route 700c contre 650b",
          "Paire de roues Shimano 700c en bon état. Je cherche des 650b pour mon vélo de "
          "randonnée.", "bikes", photos=2),
    # Sold.
    _item("karim", S, "Lave-vaisselle Bosch, 4 ans",
          "Fonctionne parfaitement, je le vends parce que la nouvelle cuisine en a un "
          "intégré. À enlever au rez-de-chaussée.", "appliances", price=12000, photos=2),
    _item("hugo", S, "Child bike seat",
          "Thule rear seat with the fitting for the frame. For children up to 22 kg.",
          "baby-gear", price=2500),
    _item("tom", S, "Bluetooth speaker",
          "JBL Charge 4, waterproof, holds a charge for a whole picnic.",
          "audio-video", Condition.LIKE_NEW, price=3000, photos=2),
    _item("lucie", S, "Machine à coudre Singer",
          "Machine mécanique robuste, révisée l'an dernier, avec pédale et boîte de "
          "canettes.", "appliances", price=6000, photos=3),
    _item("alice", S, "Garden table and four chairs",
          "Teak table (120 x 80 cm) and four folding chairs. Oiled last summer.",
          "outdoor-furniture", Condition.FAIR, price=8000, photos=2),
    # Rides in the coming days.
    _ride("hugo", "Annecy → Chambéry, weekday commute",
          "I leave every weekday from Vallin-Fier and park near the Chambéry station. "
          "Coffee in the car is on me.", "Chambéry", 1, time(7, 30), 3, 400),
    _ride("bob", "Annecy → Geneva, early start",
          "Off to work at the university, I can drop you at Cornavin station.",
          "Geneva", 1, time(6, 45), 2, 500),
    _ride("marco", "Annecy → Lyon, Saturday market run",
          "Going to the Croix-Rousse market and back in the evening. Room for bags.",
          "Lyon", 3, time(8, 0), 3, 1200, luggage_ok=True),
    _ride("emma", "Annecy → Grenoble for a climbing weekend",
          "Two spare seats and room for a crash pad.", "Grenoble", 4, time(9, 0), 2, 1000,
          luggage_ok=True),
    _ride("claire", "Annecy → Aix-les-Bains, visite aux thermes",
          "Départ tranquille après le déjeuner, retour vers 18 h. Mon petit chien voyage "
          "avec nous.", "Aix-les-Bains", 2, time(14, 0), 2, 300, pets_ok=True),
    _ride("tom", "Annecy → Geneva airport",
          "Catching a flight at noon; plenty of boot space for suitcases.", "Geneva", 5,
          time(9, 15), 3, 600, luggage_ok=True),
    _ride("hugo", "Chambéry → Annecy, evening return",
          "The return trip of my daily commute, from the station car park.", "Annecy", 1,
          time(18, 15), 3, 400, origin="Chambéry"),
    _ride("nadia", "Annecy → Lyon, dimanche soir",
          "Je rentre à la fac le dimanche soir. Musique au choix du passager !", "Lyon", 6,
          time(17, 30), 2, 1100),
    _ride("karim", "Annecy → Grenoble, chantier",
          "Départ très tôt pour un chantier, retour le soir. Une seule place.", "Grenoble",
          2, time(6, 30), 1, 900),
    _ride("alice", "Annecy → Aix-les-Bains, lake beach day",
          "Off to the Grand Port beach for the day with a picnic. Back around 7 pm.",
          "Aix-les-Bains", 7, time(10, 0), 3, 300, pets_ok=True),
    # Services, traded hour for hour (two are free).
    _service("claire", "Cours de piano pour débutants",
             "Enfants ou adultes, sur mon piano droit. On commence par le plaisir, le "
             "solfège viendra ensuite.", "music-lessons", HOME),
    _service("nadia", "Maths and physics tutoring",
             "From middle school to the baccalauréat. I come to you or we work online.",
             "tutoring", AWAY, hours=90, duration=90),
    _service("tom", "Help with your computer or phone",
             "Slow laptop, backups, a new phone to set up, a printer that will not print: "
             "I will sort it out with you.", "computing-help", AWAY),
    _service("marco", "Fresh pasta workshop",
             "Two hours in my kitchen: tagliatelle, ravioli and a sauce. We eat what we "
             "make.", "lessons", HOME, hours=120, duration=120),
    _service("sophie", "Baby-sitting en soirée",
             "En semaine à partir de 19 h, chez vous. J'ai l'habitude des tout-petits.",
             "babysitting", AWAY, hours=180, duration=180),
    _service("karim", "Small electrical repairs",
             "A light fitting to change, a socket to add, a doorbell that stopped ringing. "
             "Safely done.", "diy", AWAY),
    _service("lucie", "Ourlets et retouches",
             "Ourlets de pantalon, fermetures éclair, boutons. Rendu en quelques jours.",
             "sewing", HOME, hours=30, duration=30),
    _service("bob", "Bike tune-up and puncture repair",
             "Brakes, gears, chain and tyres checked in my garage. Bring the bike, leave "
             "with it rolling.", "bike-repair", HOME),
    _service("julien", "Montage de meubles et étagères",
             "Je monte vos meubles en kit et fixe vos étagères, outils fournis.", "diy", AWAY,
             hours=120, duration=120),
    _service("alice", "Garden help: pruning and weeding",
             "A morning in your garden: pruning, weeding, planting. I bring my own gloves.",
             "gardening-help", AWAY, hours=120, duration=180),
    _service("tom", "English conversation over coffee",
             "An hour of relaxed English conversation, at a café in the old town or on a "
             "video call.", "languages", REMOTE, terms=Terms.GIVE),
    _service("emma", "Cat sitting while you are away",
             "I pop in twice a day to feed and cuddle your cat. Free, cats are lovely.",
             "pet-care", AWAY, duration=30, terms=Terms.GIVE),
    # Wanted.
    _wanted("bob", L, "Looking for a lawn mower for an afternoon",
            "My mower died mid-lawn. Petrol or electric, I will return it cleaned and "
            "refuelled.", "garden-tools"),
    _wanted("sophie", S, "Cherche poussette double",
            "Pour des jumeaux qui arrivent en juin ! Budget autour de 80 €.", "baby-gear",
            price=8000),
    _wanted("tom", Terms.BARTER, "French conversation partner",
            "An hour of French a week; I can offer computer help or English in return.",
            "languages"),
    _wanted("hugo", G, "Cartons de déménagement",
            "Je déménage fin du mois : tous les cartons sont les bienvenus, je passe les "
            "chercher.", "other"),
    _wanted("marco", W, "Snowshoes, size 43",
            "I can swap hiking poles or a 40 l backpack.", "winter-sports"),
    _wanted("nadia", G, "Bureau pour étudiante",
            "Un petit bureau pour ma chambre, même un peu abîmé.", "furniture"),
    _wanted("emma", Terms.BARTER, "Two hands to move a sofa on Saturday",
            "Third floor, no lift, ten minutes of effort. Cake and an hour of credit in "
            "return.", "moving"),
    _wanted("claire", G, "Bocaux et pots de confiture vides",
            "Pour les confitures de l'été : tous les pots avec couvercle.", "preserving"),
    _wanted("karim", L, "Looking for a roof ladder for a day",
            "To reach a chimney on a steep roof. I have the harness.", "ladders"),
    _wanted("lucie", S, "Surjeteuse d'occasion",
            "Je cherche une surjeteuse en état de marche, budget 150 € maximum.",
            "appliances", price=15000),
]


# --- Drawing ----------------------------------------------------------------------------

# A background colour and a simple shape for each top-level category ...
PALETTE: dict[str, tuple[tuple[int, int, int], str]] = {
    "tools": ((232, 120, 60), "wrench"),
    "garden": ((96, 168, 88), "tree"),
    "kitchen": ((236, 190, 80), "pot"),
    "kids": ((240, 140, 170), "teddy"),
    "sports": ((70, 150, 210), "ball"),
    "electronics": ((90, 100, 170), "screen"),
    "books": ((170, 110, 80), "books"),
    "home": ((150, 130, 190), "sofa"),
    "home-services": ((120, 180, 170), "house"),
    "lessons": ((200, 120, 60), "cap"),
    "care": ((220, 120, 120), "heart"),
    "repairs": ((110, 130, 140), "hammer"),
    "rides": ((80, 160, 200), "car"),
    "other": ((160, 160, 160), "box"),
}
# ... and, where the top category's shape would say the wrong thing, the subcategory's own.
SUBCATEGORY_SHAPES: dict[str, str] = {
    "power-tools": "drill", "hand-tools": "hammer", "ladders": "ladder",
    "outdoor-furniture": "chair", "appliances": "appliance", "preserving": "jar",
    "kids-clothes": "shirt", "bikes": "bike", "bike-repair": "bike", "camping": "tent",
    "winter-sports": "snowflake", "water-sports": "wave", "audio-video": "speaker",
    "computers": "screen", "decoration": "frame", "furniture": "sofa",
}

# Pillow's built-in font has no accented letters ("Roues de v\u2610lo"): the demo draws
# with DejaVu Sans, which Debian's fonts-dejavu-core installs (.ci/run installs it too).
FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for path in FONT_FILES:
        try:
            return ImageFont.truetype(path, size=size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)


def _lighter(colour: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(round(c + (255 - c) * amount) for c in colour)  # type: ignore[return-value]


def _darker(colour: tuple[int, int, int], amount: float) -> tuple[int, int, int]:
    return tuple(round(c * (1 - amount)) for c in colour)  # type: ignore[return-value]


def _draw_shape(draw: ImageDraw.ImageDraw, shape: str, cx: int, cy: int, r: int,
                colour: tuple[int, int, int]) -> None:
    ink, light = _darker(colour, 0.45), _lighter(colour, 0.75)
    if shape == "wrench":
        draw.rounded_rectangle((cx - r, cy - r // 6, cx + r, cy + r // 6), r // 6, fill=ink)
        draw.ellipse((cx + r - r // 2, cy - r // 2, cx + r + r // 2, cy + r // 2), fill=ink)
        draw.ellipse((cx + r - r // 5, cy - r // 5, cx + r + r // 5, cy + r // 5), fill=light)
    elif shape == "hammer":
        draw.rounded_rectangle((cx - r // 10, cy - r // 2, cx + r // 10, cy + r), 8, fill=ink)
        draw.rounded_rectangle((cx - r * 2 // 3, cy - r, cx + r * 2 // 3, cy - r // 2), 10,
                               fill=_darker(colour, 0.65))
    elif shape == "tree":
        draw.rectangle((cx - r // 8, cy, cx + r // 8, cy + r), fill=_darker(colour, 0.6))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r // 3), fill=_darker(colour, 0.3))
    elif shape == "pot":
        draw.rounded_rectangle((cx - r, cy - r // 3, cx + r, cy + r), r // 4, fill=ink)
        draw.rectangle((cx - r - r // 4, cy - r // 3, cx + r + r // 4, cy - r // 6), fill=ink)
        for dx in (-r // 2, 0, r // 2):
            draw.arc((cx + dx - r // 6, cy - r, cx + dx + r // 6, cy - r // 2), 180, 360,
                     fill=light, width=6)
    elif shape == "ball":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=light, outline=ink, width=8)
        draw.regular_polygon((cx, cy, r // 3), 5, fill=ink)
        for angle in range(-90, 270, 72):
            x = cx + round(r * 0.8 * math.cos(math.radians(angle)))
            y = cy + round(r * 0.8 * math.sin(math.radians(angle)))
            draw.line((cx + round(r / 3 * math.cos(math.radians(angle))),
                       cy + round(r / 3 * math.sin(math.radians(angle))), x, y), fill=ink, width=6)
    elif shape == "teddy":
        for dx in (-r * 2 // 3, r * 2 // 3):
            draw.ellipse((cx + dx - r // 3, cy - r, cx + dx + r // 3, cy - r // 3), fill=ink)
        draw.ellipse((cx - r * 3 // 4, cy - r * 3 // 4, cx + r * 3 // 4, cy + r * 3 // 4), fill=ink)
        draw.ellipse((cx - r // 3, cy, cx + r // 3, cy + r // 2), fill=light)
        for dx in (-r // 3, r // 3):
            draw.ellipse((cx + dx - 10, cy - r // 4 - 10, cx + dx + 10, cy - r // 4 + 10),
                         fill=light)
    elif shape == "bike":
        for dx in (-r, r):
            draw.ellipse((cx + dx - r * 2 // 3, cy - r * 2 // 3, cx + dx + r * 2 // 3,
                          cy + r * 2 // 3), outline=ink, width=10)
        draw.line((cx - r, cy, cx, cy - r // 2, cx + r, cy, cx - r, cy), fill=ink, width=8)
    elif shape == "car":
        draw.rounded_rectangle((cx - r * 3 // 2, cy - r // 4, cx + r * 3 // 2, cy + r // 2), 24,
                               fill=ink)
        draw.polygon([(cx - r * 3 // 4, cy - r // 4), (cx - r // 2, cy - r * 3 // 4),
                      (cx + r // 2, cy - r * 3 // 4), (cx + r, cy - r // 4)], fill=ink)
        draw.polygon([(cx - r * 5 // 8, cy - r // 4 - 8), (cx - r * 3 // 8, cy - r * 5 // 8),
                      (cx + r * 3 // 8, cy - r * 5 // 8), (cx + r * 3 // 4, cy - r // 4 - 8)],
                     fill=light)
        for dx in (-r * 7 // 8, r * 7 // 8):
            draw.ellipse((cx + dx - r // 3, cy + r // 4, cx + dx + r // 3, cy + r * 11 // 12),
                         fill=_darker(colour, 0.7), outline=light, width=6)
    elif shape == "tent":
        draw.polygon([(cx - r, cy + r), (cx, cy - r), (cx + r, cy + r)], fill=ink)
        draw.polygon([(cx - r // 4, cy + r), (cx, cy + r // 6), (cx + r // 4, cy + r)], fill=light)
    elif shape == "ladder":
        for dx in (-r // 2, r // 2):
            draw.rectangle((cx + dx - 8, cy - r, cx + dx + 8, cy + r), fill=ink)
        for i in range(5):
            y = cy - r + r // 5 + i * 2 * r // 5
            draw.rectangle((cx - r // 2, y - 5, cx + r // 2, y + 5), fill=ink)
    elif shape == "screen":
        draw.rounded_rectangle((cx - r, cy - r * 2 // 3, cx + r, cy + r // 2), 12, fill=ink)
        draw.rectangle((cx - r + 14, cy - r * 2 // 3 + 14, cx + r - 14, cy + r // 2 - 14),
                       fill=light)
        draw.rectangle((cx - r // 3, cy + r // 2, cx + r // 3, cy + r * 2 // 3), fill=ink)
    elif shape == "books":
        for i, width in enumerate((r * 2, r * 7 // 4, r * 2)):
            top = cy + r - (i + 1) * r // 2
            draw.rounded_rectangle((cx - width // 2, top, cx + width // 2, top + r // 2 - 6),
                                   6, fill=_darker(colour, 0.25 + 0.12 * i))
    elif shape == "cap":
        draw.polygon([(cx - r * 5 // 4, cy - r // 3), (cx, cy - r), (cx + r * 5 // 4, cy - r // 3),
                      (cx, cy + r // 3)], fill=ink)
        draw.chord((cx - r * 2 // 3, cy - r // 2, cx + r * 2 // 3, cy + r * 2 // 3), 0, 180,
                   fill=ink)
        draw.line((cx + r, cy - r // 2, cx + r, cy + r // 3), fill=light, width=6)
    elif shape == "heart":
        draw.ellipse((cx - r, cy - r * 3 // 4, cx, cy + r // 4), fill=ink)
        draw.ellipse((cx, cy - r * 3 // 4, cx + r, cy + r // 4), fill=ink)
        draw.polygon([(cx - r + 6, cy - r // 6), (cx + r - 6, cy - r // 6), (cx, cy + r)],
                     fill=ink)
    elif shape == "sofa":
        draw.rounded_rectangle((cx - r, cy - r // 2, cx + r, cy + r // 4), 16, fill=ink)
        draw.rounded_rectangle((cx - r * 5 // 4, cy - r // 6, cx + r * 5 // 4, cy + r // 2), 16,
                               fill=_darker(colour, 0.55))
        for dx in (-r * 9 // 8, r * 9 // 8):
            draw.rectangle((cx + dx - 8, cy + r // 2, cx + dx + 8, cy + r * 3 // 4), fill=ink)
    elif shape == "house":
        draw.polygon([(cx - r, cy), (cx, cy - r), (cx + r, cy)], fill=ink)
        draw.rectangle((cx - r * 3 // 4, cy, cx + r * 3 // 4, cy + r), fill=light)
        draw.rectangle((cx - r // 6, cy + r // 3, cx + r // 6, cy + r), fill=ink)
    elif shape == "drill":
        draw.rounded_rectangle((cx - r, cy - r // 2, cx + r // 2, cy), 14, fill=ink)
        draw.rectangle((cx + r // 2, cy - r // 3, cx + r * 5 // 4, cy - r // 6), fill=_darker(colour, 0.7))
        draw.rounded_rectangle((cx - r * 3 // 4, cy, cx - r // 4, cy + r), 10, fill=ink)
        draw.rectangle((cx - r * 7 // 8, cy + r * 3 // 4, cx - r // 8, cy + r), fill=light)
    elif shape == "chair":
        draw.rectangle((cx - r // 2, cy - r, cx - r // 2 + 16, cy + r), fill=ink)
        draw.rectangle((cx - r // 2, cy, cx + r // 2, cy + 16), fill=ink)
        draw.rectangle((cx + r // 2 - 16, cy, cx + r // 2, cy + r), fill=ink)
        draw.rectangle((cx - r // 2, cy - r, cx - r // 2 + r // 3, cy - r // 2), fill=ink)
    elif shape == "appliance":
        draw.rounded_rectangle((cx - r * 3 // 4, cy - r, cx + r * 3 // 4, cy + r), 16, fill=ink)
        draw.ellipse((cx - r // 2, cy - r // 4, cx + r // 2, cy + r * 3 // 4), fill=light)
        for dx in (-r // 2, -r // 4):
            draw.ellipse((cx + dx - 8, cy - r * 3 // 4 - 8, cx + dx + 8, cy - r * 3 // 4 + 8),
                         fill=light)
    elif shape == "jar":
        draw.rounded_rectangle((cx - r * 2 // 3, cy - r * 2 // 3, cx + r * 2 // 3, cy + r), 24,
                               fill=ink)
        draw.rectangle((cx - r // 2, cy - r, cx + r // 2, cy - r * 2 // 3), fill=_darker(colour, 0.65))
        draw.rectangle((cx - r // 3, cy - r // 6, cx + r // 3, cy + r // 3), fill=light)
    elif shape == "shirt":
        draw.polygon([(cx - r // 3, cy - r), (cx - r, cy - r * 2 // 3), (cx - r * 3 // 4, cy - r // 4),
                      (cx - r // 2, cy - r // 3), (cx - r // 2, cy + r), (cx + r // 2, cy + r),
                      (cx + r // 2, cy - r // 3), (cx + r * 3 // 4, cy - r // 4),
                      (cx + r, cy - r * 2 // 3), (cx + r // 3, cy - r)], fill=ink)
        draw.chord((cx - r // 3, cy - r * 4 // 3, cx + r // 3, cy - r * 2 // 3), 0, 180, fill=light)
    elif shape == "snowflake":
        for angle in range(0, 180, 60):
            dx = round(r * math.cos(math.radians(angle)))
            dy = round(r * math.sin(math.radians(angle)))
            draw.line((cx - dx, cy - dy, cx + dx, cy + dy), fill=ink, width=12)
        draw.ellipse((cx - r // 5, cy - r // 5, cx + r // 5, cy + r // 5), fill=ink)
    elif shape == "wave":
        for i, dy in enumerate((-r // 2, 0, r // 2)):
            for k in range(-2, 2):
                x = cx + k * r // 2
                draw.arc((x, cy + dy - r // 4, x + r // 2, cy + dy + r // 4), 180, 360,
                         fill=_darker(colour, 0.3 + 0.12 * i), width=10)
    elif shape == "speaker":
        draw.rounded_rectangle((cx - r * 2 // 3, cy - r, cx + r * 2 // 3, cy + r), 18, fill=ink)
        draw.ellipse((cx - r // 2, cy - r // 6, cx + r // 2, cy + r * 5 // 6), fill=light)
        draw.ellipse((cx - r // 5, cy + r // 8, cx + r // 5, cy + r * 8 // 15), fill=ink)
        draw.ellipse((cx - r // 5, cy - r * 4 // 5, cx + r // 5, cy - r * 2 // 5), fill=light)
    elif shape == "frame":
        draw.rectangle((cx - r, cy - r * 3 // 4, cx + r, cy + r * 3 // 4), fill=ink)
        draw.rectangle((cx - r + 18, cy - r * 3 // 4 + 18, cx + r - 18, cy + r * 3 // 4 - 18),
                       fill=light)
        draw.polygon([(cx - r + 18, cy + r * 3 // 4 - 18), (cx - r // 4, cy - r // 4),
                      (cx + r // 4, cy + r // 6), (cx + r // 2, cy), (cx + r - 18, cy + r * 3 // 4 - 18)],
                     fill=_darker(colour, 0.2))
    else:  # box
        draw.rectangle((cx - r, cy - r * 2 // 3, cx + r, cy + r), fill=ink)
        draw.line((cx - r, cy - r // 6, cx + r, cy - r // 6), fill=light, width=8)


def _wrapped(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> list[str]:
    for width in range(32, 8, -2):
        lines = textwrap.wrap(text, width=width)
        if all(draw.textlength(line, font=font) <= max_width for line in lines):
            return lines[:3]
    return textwrap.wrap(text, width=8)[:3]


def _exif_bytes() -> bytes:
    # The drawings carry a small EXIF block on purpose, as a phone photo would: it shows
    # (and the tests check) that the upload pipeline strips metadata.
    exif = Image.Exif()
    exif[0x010F] = "Partage demo camera"  # Make
    exif[0x0131] = "listings.demo"  # Software
    return exif.tobytes()


def draw_listing_photo(title: str, top_category: str, variant: int = 0,
                       category: str = "") -> bytes:
    """A JPEG illustration: the category's colour and shape, and the title underneath."""
    colour, shape = PALETTE.get(top_category, PALETTE["other"])
    shape = SUBCATEGORY_SHAPES.get(category, shape)
    background = _lighter(colour, 0.15 * (variant % 3))
    width, height = PHOTO_SIZE
    image = Image.new("RGB", PHOTO_SIZE, background)
    draw = ImageDraw.Draw(image)
    # A few soft circles so two photos of one listing do not look identical.
    for i in range(3):
        r = 60 + 40 * ((i + variant) % 3)
        x = (150 + 260 * i + 90 * variant) % width
        y = (80 + 140 * ((i + variant) % 2))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_lighter(colour, 0.3))
    _draw_shape(draw, shape, width // 2 + (variant - 1) * 60, height // 2 - 70, 130, colour)
    band_top = height - 170
    draw.rectangle((0, band_top, width, height), fill=(255, 255, 255))
    font = _font(40)
    lines = _wrapped(draw, title, font, width - 80)
    y = band_top + (170 - 50 * len(lines)) // 2
    for line in lines:
        draw.text((40, y), line, font=font, fill=_darker(colour, 0.6))
        y += 50
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85, exif=_exif_bytes())
    return buffer.getvalue()


def draw_avatar(display_name: str, colour: tuple[int, int, int]) -> bytes:
    """A PNG avatar: the initials on a coloured disc, transparent around it."""
    image = Image.new("RGBA", (AVATAR_SIZE, AVATAR_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((4, 4, AVATAR_SIZE - 4, AVATAR_SIZE - 4), fill=(*colour, 255))
    initials = "".join(part[0] for part in display_name.split()[:2]).upper()
    draw.text((AVATAR_SIZE / 2, AVATAR_SIZE / 2), initials, font=_font(110),
              fill=(255, 255, 255, 255), anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# --- Seeding ----------------------------------------------------------------------------


@dataclass
class SeedReport:
    members_created: int = 0
    members_existing: int = 0
    listings_created: int = 0
    listings_existing: int = 0
    photos_created: int = 0


def _create_member(spec: DemoMember, password_hash: str) -> Member:
    with transaction.atomic():
        member = Member.objects.create(email=spec.email, password=password_hash)
        # Verified and primary, so the demo logins work with mandatory verification.
        EmailAddress.objects.create(user=member, email=spec.email, verified=True, primary=True)
        avatar = None
        if spec.avatar_colour is not None:
            avatar = SimpleUploadedFile(
                f"{spec.key}.png", draw_avatar(spec.display_name, spec.avatar_colour),
                content_type="image/png",
            )
        member = member_update_profile(
            member=member, display_name=spec.display_name, bio=spec.bio,
            neighbourhood=spec.neighbourhood, languages=spec.languages, avatar=avatar,
        )
        # Demo members show their profiles to visitors, so a newcomer can look around.
        member = member_set_consent(member=member, kind=ConsentRecord.Kind.PUBLIC_PROFILE,
                                    granted=True)
        home = home_of(spec)
        return member_share_location(member=member, lat=home.lat, lng=home.lng)


def _town(name: str) -> geo.Town:
    town = geo.find_town(name)
    if town is None:  # the gazetteer ships with the package; a typo here is a bug
        raise LookupError(f"Unknown town in the demo data: {name}")
    return town


def _departure(in_days: int, at: time) -> datetime:
    day = timezone.localdate() + timedelta(days=in_days)
    return timezone.make_aware(datetime.combine(day, at))


def _listing_data(spec: DemoListing, category: Category) -> ListingData:
    data = ListingData(
        terms=spec.terms, title=spec.title, description=spec.description, category=category,
        condition=spec.condition, price_cents=spec.price_cents,
        deposit_cents=spec.deposit_cents, hours_minutes=spec.hours_minutes,
        service_place=spec.service_place, duration_minutes=spec.duration_minutes,
    )
    if spec.kind == Kind.RIDE:
        origin, destination = _town(spec.origin), _town(spec.destination)
        data.origin_name, data.origin = origin.label, origin.point
        data.destination_name, data.destination = destination.label, destination.point
        data.departs_at = _departure(spec.in_days, spec.at or time(8, 0))
        data.seats = spec.seats
        data.luggage_ok, data.pets_ok, data.smoking_ok = (
            spec.luggage_ok, spec.pets_ok, spec.smoking_ok
        )
        if spec.origin != "Annecy":
            # A ride is found where it leaves from, not at its driver's home.
            data.place, data.place_name = origin.point, origin.label
    return data


def _ensure_listing(spec: DemoListing, owner: Member, categories: dict[str, Category],
                    report: SeedReport) -> None:
    if Listing.objects.filter(owner=owner, title=spec.title).exists():
        report.listings_existing += 1
        return
    category = categories[spec.category]
    top = category.parent.slug if category.parent_id else category.slug
    # One listing and its photos together: a crash cannot leave a listing without the
    # photos that a later run (which skips existing listings) would never add.
    with transaction.atomic():
        listing = listing_create(owner=owner, kind=spec.kind,
                                 data=_listing_data(spec, category))
        for variant in range(spec.photos):
            upload = SimpleUploadedFile(
                f"photo-{variant + 1}.jpg", draw_listing_photo(spec.title, top, variant,
                                                                 category.slug),
                content_type="image/jpeg",
            )
            photo_add(listing=listing, by=owner, upload=upload,
                      alt_text=f"Drawing: {spec.title}")
            report.photos_created += 1
    report.listings_created += 1


def demo_exists() -> bool:
    return Member.objects.filter(email=DEMO_LOGINS[0]).exists()


def seed_demo() -> SeedReport:
    """Create what is missing of the demo town and leave everything else untouched.

    Guarantees: every demo member can sign in with DEMO_PASSWORD (email verified), has
    shared a home within ~3 km of Annecy's centre (a ConsentRecord exists), and the demo
    listings exist once each per (owner, title). A second run creates and changes
    nothing; a ride whose departure has passed stays as it is (browse hides it)."""
    report = SeedReport()
    categories = Category.objects.select_related("parent").in_bulk(field_name="slug")
    missing = {spec.category for spec in LISTINGS} - set(categories)
    if missing:
        raise LookupError(
            "Categories missing (run `manage.py migrate`): " + ", ".join(sorted(missing))
        )
    members = Member.objects.in_bulk([spec.email for spec in MEMBERS], field_name="email")
    report.members_existing = len(members)
    if len(members) < len(MEMBERS):
        # Hashing is slow on purpose; one hash serves every demo member (same password).
        password_hash = make_password(DEMO_PASSWORD)
        for spec in MEMBERS:
            if spec.email not in members:
                members[spec.email] = _create_member(spec, password_hash)
                report.members_created += 1
    owners = {spec.key: members[spec.email] for spec in MEMBERS}
    for spec in LISTINGS:
        _ensure_listing(spec, owners[spec.owner], categories, report)
    _ensure_conversation(owners["alice"], owners["bob"])
    return report


# Bob asks Alice about her hedge trimmer: the inbox and chat have something to show.
DEMO_CHAT_LISTING = "Electric hedge trimmer"
DEMO_CHAT = (
    ("bob", "Hello Alice! Is the hedge trimmer free this Saturday morning?"),
    ("alice", "Hi Bob, yes it is. I can leave it by the garden gate at 9."),
    ("bob", "Perfect, thank you. I'll bring it back by 1 pm, blade cleaned."),
)


def _ensure_conversation(alice: Member, bob: Member) -> None:
    """The demo conversation, once: a second run finds it and adds nothing."""
    # messaging builds on listings; only the demo reaches across, to fill the inbox.
    from messaging import conversations

    listing = Listing.objects.filter(owner=alice, title=DEMO_CHAT_LISTING).first()
    if listing is None or not listing.is_active:
        return
    conversation = conversations.conversation_for_listing(listing=listing, member=bob)
    if conversation.messages.exists():
        return
    senders = {"alice": alice, "bob": bob}
    for who, body in DEMO_CHAT:
        conversations.message_post(conversation=conversation, sender=senders[who], body=body)
