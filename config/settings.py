"""Partage settings: one file, driven by the environment.

Every value read from the environment is listed, with its default, in the README.
The defaults need nothing installed (SQLite, in-memory channel layer, console email,
media on local disk); DATABASE_URL and REDIS_URL switch to production services.
"""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from config.redis_layer import redis_layer_hosts

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

# The development key is marked insecure so `manage.py check --deploy` flags it (W009):
# production must set its own.
SECRET_KEY = env_str("SECRET_KEY", "") or "django-insecure-partage-development-key-change-me"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "channels",
    "django_filters",
    "django_htmx",
    "allauth",
    "allauth.account",
    "allauth.usersessions",
    "core",
    "members",
    "listings",
    "exchanges",
    "ledger",
    "reviews",
    "messaging",
    "moderation",
    "allauth.mfa",
]

MIDDLEWARE = [
    # First: every later part (rate limits, allauth, logs) sees the real client's
    # address, and a body over REQUEST_MAX_BYTES is refused before anything reads it.
    "core.proxy.ProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.security.SecurityHeadersMiddleware",
    # Before the session and CSRF middleware: sees the cookies they set, and never lets a
    # response that sets one be marked public (core/cache_headers.py).
    "core.cache_headers.SharedCacheGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Records each signed-in browser for the devices page (members/devices.py).
    "members.devices.DeviceActivityMiddleware",
    # After authentication: a suspended or banned member is signed out and told why.
    "members.middleware.StandingMiddleware",
    # A warning from the moderators is read and acknowledged before anything else.
    "moderation.middleware.WarningMiddleware",
    # The admin only for staff signed in with a TOTP code.
    "moderation.middleware.StaffTwoFactorMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: under DEBUG, the site's own 404 page instead of Django's technical one.
    "core.not_found.SiteNotFoundMiddleware",
]
# Django's technical 404 page (the URL patterns tried) under DEBUG, for URL debugging.
DEBUG_TECHNICAL_404 = env_bool("DEBUG_TECHNICAL_404", False)

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "messaging.context_processors.notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
# SQLite by default, tuned for several writers at once: WAL lets readers work while one
# writer writes, IMMEDIATE takes the write lock when a transaction starts (so two
# transactions never deadlock upgrading a read lock), and the busy timeout makes a
# second writer wait instead of failing with "database is locked".
DATABASE_URL = env_str("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
            conn_health_checks=True,
        )
    }
    if (DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
            and env_bool("DATABASE_POOL", True)):
        # A bounded pool per process (psycopg_pool): under ASGI every request runs in a
        # thread of its own, and a "persistent" connection per thread was never reused
        # (one daphne worker held 97 connections, PostgreSQL refused the rest). A pooled
        # connection goes back to the pool at the end of each request (Django closes
        # it, which returns it), so CONN_MAX_AGE must be 0. A request that finds every
        # connection busy waits up to DATABASE_POOL_TIMEOUT seconds, then fails: the
        # database never sees more than DATABASE_POOL_MAX connections from a process.
        # Size: max = the threads that run views in the process (docs/deploy.md).
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env_int("DATABASE_POOL_MIN", 1),
            "max_size": env_int("DATABASE_POOL_MAX", 4),
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 10),
            # Connections above min_size opened for a burst close after a minute idle.
            "max_idle": env_int("DATABASE_POOL_MAX_IDLE", 60),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA busy_timeout=20000;"
                    "PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Threads that store chat messages in each worker (messaging.sockets.DatabaseThreads);
# 0 chooses by database (see there).
SOCKET_DB_THREADS = env_int("SOCKET_DB_THREADS", 0)

# --- Redis: channel layer and cache ---------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    # The Pub/Sub layer, chosen by measurement (docs/performance.md, bench/chat.py): with
    # RedisChannelLayer each process pops its messages one Redis round trip at a time,
    # and chat deliveries queued for seconds once a worker was busy; Pub/Sub carried
    # twice the messages with a tenth of the latency. Like every live event here, its
    # messages are extras (at most once, lost across a Redis reconnect): the database
    # is the truth and clients resume from the last id they have.
    # (RedisChannelLayer would also need a socket_timeout above its 5 s blocking reads:
    # redis-py 8's default of 5 s closed idle sockets with a 1011, redis/redis-py#4091.)
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's, retrying a broken subscription sooner and telling
            # the sockets that asked when it is back (config.redis_layer).
            "BACKEND": "config.redis_layer.ResyncingPubSubChannelLayer",
            "CONFIG": {
                # A retry on a fresh connection: see config.redis_layer.
                "hosts": redis_layer_hosts(REDIS_URL),
                "prefix": env_str("REDIS_PREFIX", "partage"),
            },
        }
    }
    CACHES = {
        "default": {
            "BACKEND": "config.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("REDIS_PREFIX", "partage"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "config.layers.ProcessChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts ---------------------------------------------------------------------------
AUTH_USER_MODEL = "members.Member"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = env_str(
    "ACCOUNT_EMAIL_VERIFICATION", "optional" if DEBUG else "mandatory"
)
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_SIGNUP_REDIRECT_URL = "members:edit"
ACCOUNT_SIGNUP_FORM_CLASS = "members.forms.SignupExtraForm"
ACCOUNT_FORMS = {
    "login": "members.account_forms.LoginForm",
    "signup": "members.account_forms.SignupForm",
    "reset_password": "members.account_forms.ResetPasswordForm",
}
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Partage] "
# Devices: allauth records sessions at login; members.devices refreshes "last seen"
# every few minutes itself rather than on every request.
USERSESSIONS_TRACK_ACTIVITY = False
# allauth's own limits (sign-up, log-in, password reset), stated here so they are visible.
ACCOUNT_RATE_LIMITS = {
    "signup": env_str("RATE_SIGNUP", "10/h/ip"),
    "login": "30/m/ip",
    # Failed logins (members/login_limits.py): "key" is the pair (client address,
    # account), not the account alone, so a stranger's wrong passwords pause the
    # stranger, not the owner. Per account from all addresses together, far above the
    # 60 an hour one address can reach: a brake on distributed guessing that no single
    # address can pull.
    "login_failed": "10/m/ip,5/300s/key",
    "login_failed_account": "100/h/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "confirm_email": "1/180s/key",
    "reauthenticate": "10/m/user",
}
# What members post (core/ratelimit.py): "count/period" per member, period in s, m, h, d.
# Every view that takes a POST names one of these, or says why it needs none
# (tests/core/test_post_limits.py holds every URL to it). Each is high enough for a busy
# honest member and low enough that a script cannot flood the others with it.
PARTAGE_RATE_LIMITS = {
    "listing_create": env_str("RATE_LISTING_CREATE", "20/h"),
    "exchange_request": env_str("RATE_EXCHANGE_REQUEST", "30/h"),
    "report": env_str("RATE_REPORT", "10/h"),
    "message": env_str("RATE_MESSAGE", "20/10s"),
    "send_hours": env_str("RATE_SEND_HOURS", "30/h"),
    # Edits, status changes, deletions and blocked days of one's own listings.
    "listing_change": env_str("RATE_LISTING_CHANGE", "120/h"),
    # Each upload is decoded and re-encoded: costly, so counted apart.
    "photo_upload": env_str("RATE_PHOTO_UPLOAD", "60/h"),
    # The profile form carries the avatar upload.
    "profile_edit": env_str("RATE_PROFILE_EDIT", "20/h"),
    "review": env_str("RATE_REVIEW", "30/h"),
    "saved_search": env_str("RATE_SAVED_SEARCH", "30/h"),
    # Accept, decline, hand over, complete, extensions, time records, deposits.
    "exchange_action": env_str("RATE_EXCHANGE_ACTION", "120/h"),
    # Each one calls Stripe.
    "payment": env_str("RATE_PAYMENT", "30/h"),
    "conversation_start": env_str("RATE_CONVERSATION_START", "60/h"),
    "block": env_str("RATE_BLOCK", "30/h"),
    # Location, consents, signed-in devices, acknowledging a warning.
    "account_settings": env_str("RATE_ACCOUNT_SETTINGS", "60/h"),
    "data_export": env_str("RATE_DATA_EXPORT", "10/h"),
    # The form checks the password: also a bound on guessing it from a stolen session.
    "account_delete": env_str("RATE_ACCOUNT_DELETE", "10/h"),
    "notification_read": env_str("RATE_NOTIFICATION_READ", "600/h"),
}
# --- Two-factor authentication (allauth.mfa) --------------------------------------------
# TOTP (an authenticator app) plus recovery codes; the admin requires it of all staff
# (moderation.middleware.StaffTwoFactorMiddleware). ADMIN_REQUIRE_2FA=false only for
# local development without a phone at hand.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Partage"
ADMIN_REQUIRE_2FA = env_bool("ADMIN_REQUIRE_2FA", True)

# Refuses the login of suspended or banned members with the reason (members/standing.py).
ACCOUNT_ADAPTER = "members.standing.StandingAccountAdapter"

# --- Email ------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Partage <noreply@partage.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Where members write about their data and these terms (the privacy notice shows it).
CONTACT_EMAIL = env_str("CONTACT_EMAIL", "contact@partage.local")

# --- Internationalisation ----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date style per language: "3 December 2026" / "3 décembre 2026" (config/formats).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_I18N = True
USE_TZ = True
CURRENCY = env_str("CURRENCY", "EUR")

# --- Static and media files ------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Finders in DEBUG so `make run` needs no collectstatic; hashed, compressed files otherwise.
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or not env_bool("STATIC_MANIFEST", True)
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_URL = env_str("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
# Serve uploads from this process unless a separate (cookie-less) domain serves them.
SERVE_MEDIA = env_bool("SERVE_MEDIA", True)
# An uploaded file above 2.5 MB streams to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

# --- Uploads: limits the image checks enforce ------------------------------------------
IMAGE_MAX_BYTES = env_int("IMAGE_MAX_BYTES", 10 * 1024 * 1024)
# 24 megapixels: what a phone's main camera takes (6000 x 4000); more only costs memory,
# stored photos are at most 1600 px wide. Refused from the header, before decoding.
IMAGE_MAX_PIXELS = env_int("IMAGE_MAX_PIXELS", 24_000_000)
# Decoding a WebP costs four times more (libwebp's two canvases, then Pillow's copies):
# 9 megapixels (4K and a little more) stay within the same memory as a 24 MP JPEG/PNG.
IMAGE_MAX_PIXELS_WEBP = env_int("IMAGE_MAX_PIXELS_WEBP", 9_000_000)
# Images decoded at once per process (core/images.py): each may briefly take ~100 MB.
# A request that waits IMAGE_WAIT_SECONDS for a slot is told to try again in a moment.
IMAGE_MAX_CONCURRENT = env_int("IMAGE_MAX_CONCURRENT", 1)
IMAGE_WAIT_SECONDS = float(env_str("IMAGE_WAIT_SECONDS", "10"))
# Bytes of listing photos (as stored, re-encoded) each member may keep.
MEMBER_STORAGE_QUOTA_BYTES = env_int("MEMBER_STORAGE_QUOTA_BYTES", 200 * 1024 * 1024)
LISTING_MAX_PHOTOS = 8
# Photos one upload may carry (the photos page's file box takes several): each is
# decoded in turn (IMAGE_MAX_CONCURRENT), so memory is that of one.
PHOTOS_PER_UPLOAD = env_int("PHOTOS_PER_UPLOAD", 4)
# The largest request body accepted at all: PHOTOS_PER_UPLOAD images at IMAGE_MAX_BYTES
# plus the form around them. nginx refuses more (client_max_body_size, rendered from
# this value by deploy/serve.py; it buffers bodies to disk, not to a worker) and so does
# core.proxy.ProxyMiddleware for a request that reaches Django another way; files above
# FILE_UPLOAD_MAX_MEMORY_SIZE stream to disk; DATA_UPLOAD_MAX_MEMORY_SIZE only counts
# the non-file fields.
REQUEST_MAX_BYTES = env_int("REQUEST_MAX_BYTES",
                            PHOTOS_PER_UPLOAD * IMAGE_MAX_BYTES + 2 * 1024 * 1024)

# --- Payments (used from the exchanges issue on) ----------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
# The platform's share of each online sale or ride, in percent (whole numbers).
PLATFORM_FEE_PERCENT = env_int("PLATFORM_FEE_PERCENT", 5)

# --- Security ---------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG and bool(DATABASE_URL))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# The language choice travels like the session: only over HTTPS in production, never
# on a cross-site subrequest, and no script reads it (the server renders every page in
# it; the notification socket reads it from the handshake's cookies).
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
# Peers whose X-Forwarded-For is believed (core/proxy.py): the reverse proxy's own
# addresses, loopback when nginx runs on the same machine. Anyone else's header is
# ignored, so a client cannot pick the address its per-IP rate limits count against.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "127.0.0.1,::1" if BEHIND_PROXY else "")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Where a form may send the browser besides this site (core/security.py): Stripe
# Checkout, which payment forms redirect to.
CSP_FORM_ACTION_EXTRA = env_list("CSP_FORM_ACTION_EXTRA", "https://checkout.stripe.com")

# --- Site --------------------------------------------------------------------------------
SITE_NAME = "Partage"
# Where the site is reached from outside: the links in emails are built on it.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
# The town the demo lives in and the map starts from when a member shared no location.
DEFAULT_TOWN = env_str("DEFAULT_TOWN", "Annecy")
LISTINGS_PAGE_SIZE = env_int("LISTINGS_PAGE_SIZE", 20)
# The search page counts matches up to this many and then says "more than" (a count of
# the whole catalogue on every request grew linearly with it).
LISTINGS_COUNT_CAP = env_int("LISTINGS_COUNT_CAP", 1000)
# Seconds nginx or a CDN may keep the anonymous home, search and listing pages
# (core/cache_headers.py); 0 makes them revalidate every time.
PUBLIC_PAGES_MAX_AGE = env_int("PUBLIC_PAGES_MAX_AGE", 30)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
