"""Settings, read strictly from the environment (django-environ).

Every default is an embedded one, so the project runs on a machine with no PostgreSQL,
no Redis and no RabbitMQ: SpatiaLite under var/, kombu's filesystem broker under var/.
"""

from __future__ import annotations

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("EMSP_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me-in-production-0123456789")
# Former keys, while what they signed or encrypted (sessions, partners' outbound tokens) moves over.
SECRET_KEY_FALLBACKS = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "django_celery_beat",
    "leaflet",
    "roaming",
    "drivers",
    "payments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]


def _database_from_url(url: str) -> dict:
    """postgres:// and postgresql:// mean PostGIS here: every database we run is spatial."""
    for plain, spatial in (
        ("postgresql://", "postgis://"),
        ("postgres://", "postgis://"),
        ("sqlite://", "spatialite://"),
    ):
        if url.startswith(plain):
            url = spatial + url[len(plain) :]
    config = environ.Env.db_url_config(url)
    if config["ENGINE"].endswith("spatialite"):
        options = config.setdefault("OPTIONS", {})
        options["timeout"] = 30
        # A transaction takes the write lock when it begins, and waits for it (up to the timeout):
        # SQLite's default takes it at its first write, and a transaction that had read before
        # another writer committed then fails at once with "database is locked" (a pushed status
        # arriving while a sync page was being written failed, and so did the page).
        options["transaction_mode"] = "IMMEDIATE"
        # WAL: pages keep reading the map while a sync writes; NORMAL is durable in WAL mode
        # except for the last commits before a power cut, which a sync resumes from anyway.
        options["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=10000;"
        # A file, not :memory:, so a Celery worker process can share the test database; one per
        # process, so two test runs on one machine do not share (and delete) each other's.
        config["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
    else:
        config["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
        config["CONN_HEALTH_CHECKS"] = True
        # Server-side binding lets PostgreSQL prepare statements: a third less database CPU on
        # the hot push path (measured in bench/bench_push.py).
        config.setdefault("OPTIONS", {})["server_side_binding"] = env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
    return config


DATABASE_URL = env.str("DATABASE_URL", default=f"spatialite:///{VAR_DIR / 'db.sqlite3'}")
DATABASES = {"default": _database_from_url(DATABASE_URL)}
SPATIALITE_LIBRARY_PATH = env.str("SPATIALITE_LIBRARY_PATH", default="mod_spatialite")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# OCPI: our identity and public URL. OCPI_BASE_URL is what partners use to reach us.
OCPI_BASE_URL = env.str("OCPI_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
OCPI_COUNTRY_CODE = env.str("OCPI_COUNTRY_CODE", default="NL").upper()
OCPI_PARTY_ID = env.str("OCPI_PARTY_ID", default="EXA").upper()
OCPI_BUSINESS_NAME = env.str("OCPI_BUSINESS_NAME", default="Open eMSP")
OCPI_BUSINESS_WEBSITE = env.str("OCPI_BUSINESS_WEBSITE", default="")
OCPI_MAX_BODY_BYTES = env.int("OCPI_MAX_BODY_BYTES", default=2_000_000)
OCPI_HTTP_TIMEOUT = env.float("OCPI_HTTP_TIMEOUT", default=10.0)
OCPI_HTTP_RETRIES = env.int("OCPI_HTTP_RETRIES", default=3)
OCPI_HTTP_BACKOFF = env.float("OCPI_HTTP_BACKOFF", default=0.5)
# A partner's Retry-After up to this many seconds is waited out in the call; a longer one ends
# the call, and a sync task retries no sooner than the partner asked.
OCPI_HTTP_MAX_RETRY_AFTER = env.float("OCPI_HTTP_MAX_RETRY_AFTER", default=30.0)
OCPI_PAGE_LIMIT = env.int("OCPI_PAGE_LIMIT", default=1000)
OCPI_INCREMENTAL_PAGE_LIMIT = env.int("OCPI_INCREMENTAL_PAGE_LIMIT", default=250)
# Scheduled pulls start at a random moment within this many seconds of their beat, so partners
# (and our workers) are not all hit at once; checklist §2.3 asks for "random splay".
OCPI_PULL_SPLAY_SECONDS = env.int("OCPI_PULL_SPLAY_SECONDS", default=60)
OCPI_FULL_PULL_SPLAY_SECONDS = env.int("OCPI_FULL_PULL_SPLAY_SECONDS", default=1800)
# A full pull that lacks more than this share of a partner's Locations or Tariffs we hold (and more than ten)
# is taken for a list cut short, not for objects gone: nothing is set aside (network.apply_full_list); 0: off.
OCPI_DELIST_MAX_SHARE = env.float("OCPI_DELIST_MAX_SHARE", default=0.2)
# Processes forked by a Locations pull to decode and prepare pages on the other cores (0: a thread).
OCPI_SYNC_WORKERS = env.int("OCPI_SYNC_WORKERS", default=2 if (os.cpu_count() or 1) > 1 else 0)
OCPI_MAX_PAGES = env.int("OCPI_MAX_PAGES", default=10_000)
# Locations fetched from one partner per minute because its pushes named ones we lack (see
# roaming.services.fetch): enough to heal a missed batch, not a queue flood from a broken CPO.
OCPI_FETCHES_PER_MINUTE = env.int("OCPI_FETCHES_PER_MINUTE", default=120)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(OCPI_MAX_BODY_BYTES, 2_621_440)

STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")

# Celery: kombu's filesystem transport is the embedded broker; Redis in production.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "celery" / "queue"
    _processed_dir = VAR_DIR / "celery" / "processed"
    _queue_dir.mkdir(parents=True, exist_ok=True)
    _processed_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_processed_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 1800
CELERY_TASK_TIME_LIMIT = 1900
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/minute"),
        "user": env.str("API_THROTTLE_USER", default="600/minute"),
        "login": env.str("API_THROTTLE_LOGIN", default="10/minute"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Open eMSP driver API",
    "DESCRIPTION": "REST API for mobile clients: chargers, prices, charging sessions and payments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

LEAFLET_CONFIG = {"DEFAULT_CENTER": (50.5, 7.0), "DEFAULT_ZOOM": 5, "RESET_VIEW": False}

LOGIN_URL = "/admin/login/"

# gis.W001: GDAL < 3.9 cannot sandbox file/network access in spatial references. We build
# geometries only from numeric coordinates, never from partner-supplied WKT/SRS strings.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "roaming.ocpi.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    X_FRAME_OPTIONS = "DENY"
