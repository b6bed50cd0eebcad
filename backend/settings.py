"""Settings for every environment, chosen by environment variables (see .env.example).

Without DATABASE_URL and REDIS_URL the backend runs on the embedded default: SQLite,
the in-memory channel layer, Celery tasks run in-process and push goes to the console.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from redis.asyncio.retry import Retry as RedisRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
_INSECURE_DEV_KEY = "insecure-dev-key-only-for-the-embedded-default-never-for-production"
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_DEV_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

# Reverse proxies in front of the server that append to X-Forwarded-For. 0: the header is
# never read and the client is the TCP peer (backend/client_ip.py). uvicorn's own
# --proxy-headers/--forwarded-allow-ips stay off: a second rule would disagree with this one.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT is a number of proxies: 0 or more.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Before the admin, as it asks: the admin then edits both languages of a model text.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "channels",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "backend",
    "recovery",
    "notifications",
]

MIDDLEWARE = [
    # First: it times everything below it (backend/metrics_http.py).
    "backend.metrics_http.MetricsMiddleware",
    # One JSON event per request, with its id, user id and role (backend/request_log.py).
    "backend.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # API-Version on every answer, 426 for an app older than MIN_APP_VERSIONS, JSON 404s.
    "backend.versioning.ApiContractMiddleware",
    # Serves /static/ from the ASGI process itself: no separate file server to run.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The request's language from Accept-Language (the patient's profile setting, where
    # a view has it, takes precedence by activating it itself).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "recovery.audit_middleware.PatientAccessAuditMiddleware",
    # Notes when the app (a request with its bearer token) was last heard from.
    "notifications.presence.HeardFromMiddleware",
    # Last, as django-axes asks: it turns a lockout into a response.
    "axes.middleware.AxesMiddleware",
]

# django-axes first: it refuses a locked-out username before the password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Lock the username from the address that failed: a stranger elsewhere cannot lock a
# counselor out, and the per-address login throttle bounds guessing across usernames.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_LOCKOUT_CALLABLE = "backend.api.lockout_response"
# The one rule for the client's address (backend/client_ip.py), as DRF's throttles see it.
AXES_CLIENT_IP_CALLABLE = "backend.client_ip.client_ip"
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="IOP companion")

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"
ASGI_APPLICATION = "backend.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several threads (web, in-process scheduler) write to one file: wait for the lock
    # instead of failing at once, and take the write lock at BEGIN so claims never deadlock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    # Test databases live in a file, not in shared-cache memory: shared cache reports
    # "table is locked" at once instead of waiting, so concurrency tests would not see
    # how SQLite really behaves. One file per process keeps parallel runs apart.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"iop-test-{os.getpid()}.sqlite3")
    }

AUTH_USER_MODEL = "recovery.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# English and Spanish. The catalogs are compiled and committed (locale/*/LC_MESSAGES/*.mo):
# the image needs no GNU gettext, and tests/backend/test_translations.py fails when a
# compiled catalog is behind its .po or a marked string has no Spanish.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
# Model texts (the exercise library, recovery/translation.py) in every language above, each
# read in the active language; a text with no Spanish (a program's own exercise) falls
# back to English, the language a program's staff write in by default.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Request bodies: the API never needs more than this; bigger bodies answer 400/413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "backend.authentication.JWTWithSecondFactorAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "backend.api.CappedPagination",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "backend.openapi.ContractAutoSchema",
    "EXCEPTION_HANDLER": "backend.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": ["backend.api.StrictJSONParser"],
    # Every throttle keys on backend.client_ip (TRUSTED_PROXY_COUNT); a view names its
    # scope. NUM_PROXIES too, for any DRF code that still asks DRF's own rule.
    "DEFAULT_THROTTLE_CLASSES": ["backend.throttling.ScopedRateThrottle"],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="10/min"),
        "enrollment_code": env.str("THROTTLE_ENROLLMENT_CODE", default="10/min"),
        # Per user: setting up and confirming an authenticator.
        "totp": env.str("THROTTLE_TOTP", default="5/min"),
        # Per user: messages to or from the care team.
        "messages": env.str("THROTTLE_MESSAGES", default="20/min"),
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

# Read with the user when a request authenticates, in the same query: what a patient's
# requests need on every call (a check-in: the enrollment, its program and schedule, and
# which notifications the patient muted; a questionnaire: the program's alert thresholds).
# One-to-one relations only: no row is multiplied.
AUTH_USER_SELECT_RELATED = [
    "enrollment__program__questionnaire_settings",
    "enrollment__checkin_schedule",
    "notification_preference",
]

# Where a signed-in user's own language lives, as an attribute path on the user (read from
# what AUTH_USER_SELECT_RELATED loaded: no query). When it names a language, the API answers
# in it; otherwise (staff, before sign-in) Accept-Language picks.
AUTH_USER_LANGUAGE = "enrollment.language"

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("ACCESS_TOKEN_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("REFRESH_TOKEN_DAYS", default=14)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
}

# The API's version, sent as the API-Version header of every response and in the schema.
API_VERSION = "1.0.0"
# The oldest app version still supported, per platform (the app sends X-App-Platform and
# X-App-Version); an older one is answered 426 upgrade_required. Empty: no minimum.
MIN_APP_VERSIONS = {
    platform: version
    for platform in ("ios", "android", "web")
    if (version := env.str(f"MIN_APP_VERSION_{platform.upper()}", default=""))
}

SPECTACULAR_SETTINGS = {
    "TITLE": "IOP companion backend",
    "DESCRIPTION": (
        "API for the companion app of addiction Intensive Outpatient Programs: "
        "patients, counselors and scheduled workers.\n\n"
        "Apps send `X-App-Platform` (`ios`, `android`, `web`) and `X-App-Version` "
        "(`1.4.2`) with every request: an app older than the deployment supports is "
        "answered 426 `upgrade_required`. Every answer carries `API-Version`. A 401's "
        "`code` says what to do (`token_expired`: refresh and retry). Lists an app "
        "syncs take `updated_since` (see each operation), answer `synced_at` to pass next "
        "time and page with `next_page`/`previous_page` numbers beside the `next`/`previous` "
        "links; a list whose rows can be deleted lists their ids in `deleted`."
    ),
    "VERSION": API_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "backend.openapi.add_error_responses",
        "notifications.openapi.notification_union",
    ],
    "ENUM_NAME_OVERRIDES": {
        "NotificationKindEnum": "recovery.notification_kinds.NotificationKind",
        "SessionKindEnum": "recovery.models.SessionKind",
        "FlagKindEnum": "recovery.models.FlagKind",
        "StageEnum": "recovery.models.Stage",
        "LevelOfCareEnum": "recovery.models.LevelOfCare",
        "GoalStatusEnum": "recovery.models.GoalStatus",
        "ScreenStatusEnum": "recovery.models.ScreenStatus",
        "MedicationCategoryEnum": "recovery.models.MedicationCategory",
        "AuditActionEnum": "recovery.models.AuditEntry.Action",
        "FlagEventActionEnum": "recovery.models.FlagEvent.Action",
        "ShareableEventEnum": "recovery.models.ShareableEvent",
        "ExerciseCategoryEnum": "recovery.models.ExerciseCategory",
        "SubstanceEnum": "recovery.models.ScreenSubstance",
        "RelationshipEnum": "recovery.models.Relationship",
        "RoleEnum": "recovery.models.Role",
    },
}

# --- Redis, Celery, channels -------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")

# redis-py options of every channel-layer connection pool (channels_redis passes them on).
CHANNEL_LAYER_REDIS_OPTIONS = {
    # redis-py 8 reads with a 5 s socket timeout by default, which is exactly the 5 s
    # blocking pop a consumer waits on: an idle socket's consumer died.
    "socket_timeout": 15,
    # Closing a thousand sockets at once needs more than redis-py's default pool of 100,
    # which fails instead of waiting.
    "max_connections": 2000,
    # A pooled connection dies with the server, and the pool hands it out again: without a
    # retry the first command on it after a Redis restart or failover fails (the first
    # websocket to connect closed before `ready`, and every reconnecting app hit it at
    # once). One immediate retry on a connection error reconnects. Timeouts are not
    # retried: the command may have run.
    "retry": RedisRetry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
}

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # channels_redis's storage; batched sends and receives, a full queue reported.
            "BACKEND": "notifications.redis_layer.BurstRedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, **CHANNEL_LAYER_REDIS_OPTIONS}],
                "capacity": 1000,
                # One queue per server process, shared by all of its sockets: it must hold
                # a burst of one event for each of them (a reminder due for everyone).
                "channel_capacity": {"specific.*": 20_000},
                "expiry": 60,
            },
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
    # Shared by every web process: sign-in throttles and revoked sign-ins (one read per
    # authenticated request, backend/revocation.py). A Redis that is down fails fast.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "iop",
            "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
        }
    }
else:
    # The embedded default is one process: its memory is the whole cache.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # One process: the layer lives on the server's event loop and reports a full socket
    # (notifications/layers.py). Capacity per socket: a few dispatch batches (500 rows) of
    # a burst; channels' default of 100 overflows on one sweep of a busy program.
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "notifications.layers.EmbeddedChannelLayer",
            "CONFIG": {"capacity": 2000},
        }
    }
    CELERY_BROKER_URL = "memory://"
    # Embedded default: tasks run in the calling process, the library's own mode for it.
    CELERY_TASK_ALWAYS_EAGER = True

# While the cache cannot answer whether a sign-in ended, tokens of these roles are refused
# (503, Retry-After) and all others still work (backend/revocation.py). Default: none, so
# a Redis outage stops nobody; patients must never be listed (the crisis path).
REVOCATION_FAIL_CLOSED_ROLES = frozenset(env.list("REVOCATION_FAIL_CLOSED_ROLES", default=[]))
if "patient" in REVOCATION_FAIL_CLOSED_ROLES:
    raise ImproperlyConfigured("REVOCATION_FAIL_CLOSED_ROLES must not list patients.")

CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
# A request must never hang on a broker that is down (celery issue 6046): fail fast,
# the periodic tick re-drives whatever was not enqueued.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
    "socket_timeout": 2,
    "socket_connect_timeout": 2,
}

# --- Scheduler ---------------------------------------------------------------------------
# "inprocess": the `serve` command runs the schedule itself (embedded default).
# "celery": only `manage.py run_scheduler` runs it and enqueues Celery tasks (production).
SCHEDULER_MODE = env.str("SCHEDULER_MODE", default="celery" if REDIS_URL else "inprocess")

# --- Notifications -----------------------------------------------------------------------
PUSH_BACKEND = env.str("PUSH_BACKEND", default="console")
FIREBASE_CREDENTIALS = env.str("FIREBASE_CREDENTIALS", default="")
FIREBASE_PROJECT_ID = env.str("FIREBASE_PROJECT_ID", default="")
FCM_ENDPOINT = env.str("FCM_ENDPOINT", default="")
FCM_MAX_CONCURRENCY = env.int("FCM_MAX_CONCURRENCY", default=100)
NOTIFICATION_LEASE_SECONDS = env.int("NOTIFICATION_LEASE_SECONDS", default=120)
NOTIFICATION_BATCH_SIZE = env.int("NOTIFICATION_BATCH_SIZE", default=500)
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=8)
DISPATCH_INTERVAL_SECONDS = env.float("DISPATCH_INTERVAL_SECONDS", default=5.0)
SWEEP_INTERVAL_SECONDS = env.float("SWEEP_INTERVAL_SECONDS", default=30.0)
# "When was the app last heard from" is written at most this often per user: a silence
# that matters lasts days, and a write per request would cost every request a statement.
APP_HEARD_RESOLUTION_SECONDS = env.int("APP_HEARD_RESOLUTION_SECONDS", default=300)
# Each process writes its notes together after this delay: one statement for many users
# instead of one in each user's first request (0: each note at once, in its request).
APP_HEARD_WRITE_DELAY_SECONDS = env.float("APP_HEARD_WRITE_DELAY_SECONDS", default=2.0)

# --- Metrics (backend/metrics.py, backend/metrics_http.py) ----------------------------------
# /metrics answers only a scrape with this bearer token and/or from these networks (CIDR);
# with neither set it is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])

# --- Websockets --------------------------------------------------------------------------
WEBSOCKET_AUTH_TIMEOUT_SECONDS = env.float("WEBSOCKET_AUTH_TIMEOUT_SECONDS", default=5.0)

# --- Security (production) ---------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    # Only a plain-http test server on loopback turns these off.
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_AGE = 60 * 60 * 8
X_FRAME_OPTIONS = "DENY"

# Errors go to Sentry only when a DSN is set, scrubbed of PHI (backend/error_reporting.py).
SENTRY_DSN = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_RELEASE = env.str("SENTRY_RELEASE", default="")
if SENTRY_DSN:
    from backend.error_reporting import init_error_reporting

    init_error_reporting(dsn=SENTRY_DSN, environment=SENTRY_ENVIRONMENT, release=SENTRY_RELEASE)

# Keys for the encryption at rest of notes and contact details (recovery/encryption.py).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])

# Support contacts are told about events (under a Part 2 consent) by email.
# The console and file backends write whole messages (recipient, the patient's first name,
# the event) to the server's log or disk: the embedded default only, like its SECRET_KEY.
_PHI_WRITING_EMAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default=(
        "django.core.mail.backends.console.EmailBackend"
        if DEBUG
        else "django.core.mail.backends.smtp.EmailBackend"
    ),
)
if not DEBUG and EMAIL_BACKEND in _PHI_WRITING_EMAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"EMAIL_BACKEND {EMAIL_BACKEND} writes disclosures to the log or disk: not when DEBUG "
        "is off. Use the SMTP backend (or django.core.mail.backends.dummy.EmailBackend)."
    )
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="no-reply@localhost")

# PHI never goes to logs: loggers name ids, never content. "json": one JSON object per line
# with the request id, user id and role or the job bound (backend/logs.py); "plain" for a
# developer's terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured("LOG_FORMAT is json or plain.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "backend.logs.json_formatter"},
        "plain": {"()": "backend.logs.plain_formatter"},
    },
    "filters": {"path_free": {"()": "backend.logs.PathFree"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Their lines name the path (ids); the status is enough beside the request event.
        "django.request": {"filters": ["path_free"]},
        "django.server": {"filters": ["path_free"]},
        "django.db.backends": {"level": "WARNING"},
        # One line per tick every few seconds drowns what matters.
        "apscheduler": {"level": "WARNING"},
        # One line per push request would drown the log during a burst.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
