"""
Settings for the tracker project, read from the environment.

Variables:
    DATABASE_URL          database (default: SQLite file ``db.sqlite3`` beside manage.py)
    DATABASE_REPLICA_URL  optional PostgreSQL streaming replica that serves the change feed
                          and the API's reads of case data
    DJANGO_SECRET_KEY     required unless DJANGO_DEBUG is on
    DJANGO_DEBUG          "1"/"true" turns debug on; off by default
    DJANGO_ALLOWED_HOSTS  comma-separated host names (default: localhost names only)

docs/deploy.md lists every other variable (security, logins, throttling, cache).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from cases.documents import storage as documents_storage

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    """Return the boolean value of environment variable ``name``."""
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    """Return the integer value of environment variable ``name``."""
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    """Return the comma-separated environment variable ``name`` as a list."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it, or set DJANGO_DEBUG=1 for local development."
        )
    # Only for a developer's own machine: debug mode never runs in production.
    SECRET_KEY = "django-insecure-development-only-key"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

INSTALLED_APPS = [
    # The admin site asks for a one-time password when DJANGO_REQUIRE_2FA_FOR_STAFF is on.
    "tracker.apps.TrackerAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # intcomma: counts grouped as the reader's language groups them (1,234 or 1 234).
    "django.contrib.humanize",
    "django_countries",
    "django_filters",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    # django-otp's TOTP devices and django-axes, named in Ukrainian and Korean (tracker/apps.py).
    "tracker.apps.TOTPConfig",
    "tracker.apps.AxesConfig",
    "csp",
    "cases",
]

MIDDLEWARE = [
    # First, so every answer and every log line carries the request's id.
    "tracker.middleware.RequestIdMiddleware",
    # Next, so every answer gets its log line: static files, HTTPS redirects, lockouts.
    "tracker.logs.RequestLogMiddleware",
    # Next, so that every answer but static files is marked no-store, error pages included.
    "tracker.middleware.NoStoreMiddleware",
    # Under /api/: too long addresses (414), problem JSON for every error, rate-limit headers.
    "tracker.middleware.ApiConventionsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Django's LocaleMiddleware, after the session: the signed-in account's own language
    # first, then the language cookie, Accept-Language and LANGUAGE_CODE.
    "tracker.middleware.AccountLocaleMiddleware",
    # After the view has answered and committed: an account's write moves where its reads
    # may be served (a replica that has replayed it, or the primary).
    "tracker.middleware.WritePositionMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so the lockout answer it makes is the one the request log records.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "tracker.urls"

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
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Django's form templates, with a plain <input> written in Python (the same HTML, a fraction
# of the time: a case page in the admin has about two hundred widgets).
FORM_RENDERER = "tracker.renderers.QuickInputRenderer"

WSGI_APPLICATION = "tracker.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "0")),
        # A kept connection is checked before reuse, so a restarted database or a killed
        # backend costs one reconnect instead of a 500 per worker.
        conn_health_checks=env_bool("DJANGO_CONN_HEALTH_CHECKS", default=True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # An unreachable database host fails fast (and /healthz answers 503) instead of hanging.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DJANGO_DB_CONNECT_TIMEOUT", 5)
    )
# The API's most repeated reads (cases.statements: a case's detail, a case-list page) are
# prepared on the server, once per connection: planning them cost more than running them.
# "kept" (the default): where connections are kept between requests (DJANGO_CONN_MAX_AGE
# not 0); "always"; "off" (also 0), e.g. behind a pooler in transaction mode that does not
# keep prepared statements (PgBouncer before 1.22, or without max_prepared_statements).
# psycopg prepares only what is asked to be (an execution count no other query reaches).
_PREPARED = os.environ.get("DJANGO_DB_PREPARED_STATEMENTS", "").strip().lower() or "kept"
PREPARED_STATEMENTS = {
    **dict.fromkeys(("1", "true", "yes", "on"), "kept"),
    **dict.fromkeys(("0", "false", "no"), "off"),
}.get(_PREPARED, _PREPARED)
if PREPARED_STATEMENTS not in ("kept", "always", "off"):
    raise ImproperlyConfigured(
        f"DJANGO_DB_PREPARED_STATEMENTS is {_PREPARED!r}: use kept (the default), always or off."
    )
# A PostgreSQL streaming replica of the primary (hot standby) may serve the change feed and
# the API's reads of case data (docs/deploy.md, "Larger deployments"). Writes, and every
# read that must see them, stay on "default"; tracker.db_routers says which reads may go to
# "replica". Tests read the replica alias from the test database itself (MIRROR), as Django
# does for replicas.
REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "").strip()
if REPLICA_URL:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL needs DATABASE_URL to name PostgreSQL: a replica is a "
            "PostgreSQL streaming standby of that primary."
        )
    DATABASES["replica"] = dj_database_url.parse(
        REPLICA_URL,
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=DATABASES["default"]["CONN_HEALTH_CHECKS"],
    )
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DJANGO_DB_CONNECT_TIMEOUT", 5)
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
for _database in DATABASES.values():
    if PREPARED_STATEMENTS != "off" and _database["ENGINE"] == "django.db.backends.postgresql":
        _database.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 2**31 - 1)
DATABASE_ROUTERS = ["tracker.db_routers.PrimaryReplicaRouter"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Concurrent writers on SQLite need WAL, a busy timeout and BEGIN IMMEDIATE,
    # or they fail with "database is locked" instead of waiting their turn.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The site's languages (docs/translating.md). The default for a reader with no setting of his
# own and no Accept-Language the site speaks is DJANGO_LANGUAGE_CODE.
LANGUAGES = [
    ("en", _("English")),
    ("uk", _("Ukrainian")),
    ("ko", _("Korean")),
]
LANGUAGE_CODE = os.environ.get("DJANGO_LANGUAGE_CODE", "en").strip() or "en"
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured(
        f"DJANGO_LANGUAGE_CODE must be one of {', '.join(code for code, _n in LANGUAGES)}; "
        f"it is {LANGUAGE_CODE!r}."
    )
# The project's catalogs, then DRF's Korean messages built at install time under the site's
# code "ko" (DRF names its catalog ko_KR): tracker/vendored_locale.py, never committed.
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "build" / "locale"]
# English dates and numbers keep the British formats the site used before it had languages
# (25 Oct 2006; 25/10/2006 read as day/month/year in the admin): tracker/formats/en.
FORMAT_MODULE_PATH = ["tracker.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # Attached documents (docs/documents.md): a folder outside the web root with no URL
    # (DJANGO_DOCUMENTS_ROOT, default var/documents beside the checkout), or a private S3
    # bucket (DJANGO_DOCUMENTS_S3_BUCKET). Read only through views that check and log.
    "documents": documents_storage.storage_setting(documents_storage.environment(), BASE_DIR),
}
# The largest document accepted, in bytes (25 MiB); checked while the upload streams in.
DOCUMENT_MAX_BYTES = env_int("DJANGO_DOCUMENT_MAX_BYTES", 25 * 1024 * 1024)

# The analysts' sign-in page; staff who need a second factor are sent on to the admin's.
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cases:list"

# Logins: django-axes counts failed logins and locks a username from one address after
# DJANGO_LOGIN_FAILURE_LIMIT failures, for DJANGO_LOGIN_LOCKOUT_MINUTES; `manage.py
# axes_reset` (or axes_reset_username USERNAME) unlocks at once.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("DJANGO_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("DJANGO_LOGIN_LOCKOUT_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A failed try while locked would otherwise restart the lock, so an attacker could keep the
# real user out for ever.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
# Behind a proxy, the client address is the first X-Forwarded-For entry only when the proxy
# is trusted (DJANGO_SECURE_PROXY_SSL_HEADER says there is one); otherwise REMOTE_ADDR.
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER")
    else ["REMOTE_ADDR"]
)

# Two-factor: staff, and every account that may read sensitive values or write case data
# (cases.security.policy), confirm each login with a TOTP code. On by default when debug is
# off; a development server (DJANGO_DEBUG=1) leaves it off unless asked.
REQUIRE_2FA_FOR_STAFF = env_bool("DJANGO_REQUIRE_2FA_FOR_STAFF", default=not DEBUG)
OTP_TOTP_ISSUER = os.environ.get("DJANGO_OTP_ISSUER", "POW case tracker")

# Production security: every default below is the safe one when debug is off, and the one
# that keeps plain http on 127.0.0.1 working when debug is on.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", default=not DEBUG)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER"):
    # Only behind a proxy that sets this header itself and strips it from clients.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 8 * 60 * 60)
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content Security Policy: every script, style, font and image from this origin only; no
# inline script anywhere. Swagger UI's icons are data: images.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Caches. The API's rate-limit counters must be shared by every server process, or each
# enforces its own limits (cases/api/counters.py): by default they are rows of a table of the
# database (UNLOGGED on PostgreSQL, made by ``migrate``), one statement per request; with
# DJANGO_CACHE_URL=redis://host:6379/0 (the redis package installed) they live in the
# "ratelimit" cache, Redis; ``locmem://`` keeps them in each process's memory, for a single
# process only. A "ratelimit" cache, when there is one, holds them instead of the table. The
# "default" cache holds what is exact per process too (counts kept under a database snapshot,
# the admin's lists): Redis when DJANGO_CACHE_URL names it, else each process's memory, so
# that keeping a count does not itself commit a write (which would change the snapshot it is
# kept under).
CACHE_URL = os.environ.get("DJANGO_CACHE_URL", "").strip()
LOCAL_CACHE = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
if CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    REDIS_CACHE = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    CACHES = {"default": REDIS_CACHE, "ratelimit": REDIS_CACHE}
elif CACHE_URL in {"", "db://"}:
    # No "ratelimit" cache: the counters are the database's table.
    CACHES = {"default": LOCAL_CACHE}
elif CACHE_URL == "locmem://":
    # One memory for both aliases (the same LOCATION): clearing one clears the other.
    CACHES = {"default": LOCAL_CACHE, "ratelimit": LOCAL_CACHE}
else:
    raise ImproperlyConfigured(
        "DJANGO_CACHE_URL must be db:// (the default), redis://HOST:PORT/DB, rediss://..., "
        "unix://... or locmem://."
    )

#: The longest address (path and query string) the API answers; a longer one is a 414
#: problem. gunicorn.conf.py lets request lines up to 8190 bytes through to Django.
MAX_URL_LENGTH = env_int("DJANGO_MAX_URL_LENGTH", 4096)

REST_FRAMEWORK = {
    # Token first, so an anonymous caller gets 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "cases.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "cases.api.throttling.AnonymousRateLimit",
        "rest_framework.permissions.IsAuthenticated",
        "cases.api.permissions.TokenScope",
        "cases.api.permissions.OfficerWrites",
        # Last: an unknown query parameter is a 400 once the caller may ask at all.
        "cases.api.parsers.KnownQueryParameters",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON bodies only: any other content type is a 415 problem, and the schema declares
    # application/json request bodies only.
    "DEFAULT_PARSER_CLASSES": ["cases.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # The test client sends JSON unless told otherwise, as the API takes nothing else.
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "EXCEPTION_HANDLER": "cases.api.exceptions.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    # Per token (or signed-in user) for reads and, stricter, for writes; per address for
    # callers without credentials. Rates are "N/second", "N/minute", "N/hour" or "N/day".
    # Callers without credentials are limited by the first permission class above.
    "DEFAULT_THROTTLE_CLASSES": [
        "cases.api.throttling.ReadThrottle",
        "cases.api.throttling.WriteThrottle",
    ],
    # The address of an anonymous caller: REMOTE_ADDR, or the proxy's X-Forwarded-For entry
    # when there is a trusted proxy; never a header the client could forge.
    "NUM_PROXIES": 1 if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER") else 0,
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("DJANGO_API_RATE_ANON", "30/minute"),
        "read": os.environ.get("DJANGO_API_RATE_READ", "600/minute"),
        "write": os.environ.get("DJANGO_API_RATE_WRITE", "60/minute"),
    },
}

#: How long an API token, its user and the user's permissions are kept once resolved
#: (cases/security/credentials.py): a change forgets them at once on the process that made it,
#: and on every process with a shared cache (Redis); other processes of the default
#: per-process cache see it within this many seconds. 0 reads them on every request.
API_CREDENTIALS_CACHE_SECONDS = env_int("DJANGO_API_CREDENTIALS_CACHE_SECONDS", 5)

SPECTACULAR_SETTINGS = {
    "TITLE": "POW case tracker API",
    "DESCRIPTION": (
        "Cases of prisoners of war and decisions about where they go next. "
        "Authenticate with `Authorization: Token KEY`. Rows carry a `version`; changes send it "
        "back (If-Match or `version`) and get 412 when stale, 428 when missing."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and its docs need a signed-in user or a token, like the rest of the API.
    "SERVE_PERMISSIONS": [
        "cases.api.throttling.AnonymousRateLimit",
        "rest_framework.permissions.IsAuthenticated",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # OpenAPI 3.1: nullability is JSON Schema's own (type: [X, "null"]), which strict
    # validators and client generators understand; 3.0's "nullable" beside a $ref is not.
    "OAS_VERSION": "3.1.0",
    # Interactive docs from local static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation's error answers (problems), headers and list conventions.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "cases.api.schema.document_answers",
        "cases.api.idempotency.document_idempotency",
        # Last: every "may be null" written the OpenAPI 3.1 way.
        "cases.api.schema.nullable_as_openapi_31",
    ],
    # One name per choice set, so clients get stable enum names.
    "ENUM_NAME_OVERRIDES": {
        "CountryEnum": "django_countries.countries",
        "DatePrecisionEnum": "cases.choices.DatePrecision",
        "PartyKindEnum": "cases.choices.PartyKind",
        "SexEnum": "cases.choices.Sex",
        "IdentityConfidenceEnum": "cases.choices.IdentityConfidence",
        "ScriptEnum": "cases.choices.Script",
        "RomanisationEnum": "cases.choices.Romanisation",
        "LegalStatusEnum": "cases.choices.LegalStatus",
        "CaseStatusEnum": "cases.choices.CaseStatus",
        "PriorityEnum": "cases.choices.Priority",
        "IntentionOptionEnum": "cases.choices.IntentionOption",
        "StatementSettingEnum": "cases.choices.StatementSetting",
        "VerificationEnum": "cases.choices.Verification",
        "IntentionStateEnum": "cases.choices.IntentionState",
        "RequestKindEnum": "cases.choices.RequestKind",
        "RequestStatusEnum": "cases.choices.RequestStatus",
        "StanceEnum": "cases.choices.Stance",
        "ReliabilityEnum": "cases.choices.Reliability",
        "OccurrenceKindEnum": "cases.choices.OccurrenceKind",
        "EventKindEnum": "cases.choices.EventKind",
        "NotificationChannelEnum": "cases.notifications.models.NotificationChannel",
        "NotificationReasonEnum": "cases.notifications.models.NotificationReason",
        "NotificationStateEnum": "cases.notifications.models.NotificationState",
        "ChannelEnum": "cases.choices.Channel",
        "DocumentKindEnum": "cases.identity.models.DocumentKind",
        "AttachedDocumentKindEnum": "cases.documents.models.DocumentKind",
        "DocumentGenuinenessEnum": "cases.identity.models.DocumentGenuineness",
        "IdentifierSchemeEnum": "cases.identity.models.IdentifierScheme",
        "ListKindEnum": "cases.imports.models.ListKind",
        "ImportStatusEnum": "cases.imports.models.ImportStatus",
        "ExchangeStatusEnum": "cases.exchanges.models.ExchangeStatus",
        "ImportOutcomeEnum": "cases.imports.planning.OUTCOMES",
        "ImportRowCommittedEnum": "cases.imports.planning.COMMITTED",
        "PlaceKindEnum": "cases.places.models.PlaceKind",
        "MovementKindEnum": "cases.places.models.MovementKind",
        "CardHealthEnum": "cases.places.models.CardHealth",
    },
}

# One JSON object per line (DJANGO_LOG_FORMAT=json, the production default when debug is
# off) or plain text for a developer's terminal.
LOG_FORMAT = os.environ.get("DJANGO_LOG_FORMAT", "text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "tracker.logs.JsonFormatter"},
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"no_sql_values": {"()": "tracker.logs.NoSqlValues"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {
        # The request log below replaces Django's own per-request lines.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        # SQL logged at DEBUG carries its parameters: a searched name and every spelling
        # the search expanded it to. The filter keeps the timing and drops the statement.
        "django.db.backends": {"filters": ["no_sql_values"]},
        # WeasyPrint (the case brief's PDF) logs every rendering step at INFO.
        "weasyprint.progress": {"level": "WARNING"},
        "tracker.request": {
            "level": "INFO" if env_bool("DJANGO_REQUEST_LOG", default=True) else "WARNING"
        },
    },
}

# The consent gate: how many days a verified statement of a person's wish stays fresh enough
# to move him across a border (docs/consent.md). A reconfirmation at handover is always fresh.
TRACKER_CONSENT_MAX_AGE_DAYS = env_int("TRACKER_CONSENT_MAX_AGE_DAYS", 30)

# The notification log (docs/notifications.md): days a notification of GC III Art. 122-123
# may stay pending before it is overdue ("immediately" in the Convention; a week, as the
# capture card of Art. 70, by default), and the tracing agency notified by default: the first
# of these party uuids, short names or names that exists.
TRACKER_NOTIFICATION_DUE_DAYS = env_int("TRACKER_NOTIFICATION_DUE_DAYS", 7)
TRACKER_NOTIFICATION_TRACING_AGENCIES = env_list(
    "TRACKER_NOTIFICATION_TRACING_AGENCIES", "CTA,ICRC"
)

# Tasks (docs/tasks.md): days a filed request may wait for an answer before its "no answer"
# task is due, and how many days ahead of a scheduled handover a statement going stale opens
# the task to reconfirm consent.
TRACKER_REQUEST_ANSWER_DAYS = env_int("TRACKER_REQUEST_ANSWER_DAYS", 30)
TRACKER_TASK_CONSENT_LOOKAHEAD_DAYS = env_int("TRACKER_TASK_CONSENT_LOOKAHEAD_DAYS", 14)


def env_float(name: str, default: float) -> float:
    """Return the number in environment variable ``name``."""
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


# Webhooks (docs/webhooks.md). Secrets are stored encrypted with a key derived from
# DJANGO_WEBHOOK_KEY (comma-separated: the first encrypts, every one decrypts, so a key can be
# rotated), or from SECRET_KEY when it is not set.
WEBHOOK_KEYS = env_list("DJANGO_WEBHOOK_KEY")
#: Hosts (names or addresses, exactly as written in a target URL) that may be reached over
#: plain http and at private, loopback or link-local addresses. Everything else needs https
#: and a public address, checked after DNS resolution at every attempt.
WEBHOOK_ALLOW_HOSTS = env_list("DJANGO_WEBHOOK_ALLOW_HOSTS")
WEBHOOK_CONNECT_TIMEOUT = env_float("DJANGO_WEBHOOK_CONNECT_TIMEOUT", 3.0)
WEBHOOK_TOTAL_TIMEOUT = env_float("DJANGO_WEBHOOK_TOTAL_TIMEOUT", 10.0)
#: Bytes of a receiver's answer read at most; the rest is not read.
WEBHOOK_MAX_RESPONSE_BYTES = env_int("DJANGO_WEBHOOK_MAX_RESPONSE_BYTES", 64 * 1024)
#: Retries: the n-th retry waits BASE * 2**(n-1) seconds (at most MAX), less up to JITTER of
#: it at random, for up to RETRY_FOR seconds since the first failure; then the subscription
#: is paused with the reason.
WEBHOOK_RETRY_BASE_SECONDS = env_float("DJANGO_WEBHOOK_RETRY_BASE_SECONDS", 5.0)
WEBHOOK_RETRY_MAX_SECONDS = env_float("DJANGO_WEBHOOK_RETRY_MAX_SECONDS", 3600.0)
WEBHOOK_RETRY_JITTER = env_float("DJANGO_WEBHOOK_RETRY_JITTER", 0.2)
WEBHOOK_RETRY_FOR_SECONDS = env_float("DJANGO_WEBHOOK_RETRY_FOR_SECONDS", 3 * 24 * 3600.0)
#: A worker holds a subscription for this long and renews the lease while it delivers;
#: a killed worker's subscriptions pass to another once it runs out.
WEBHOOK_LEASE_SECONDS = env_float("DJANGO_WEBHOOK_LEASE_SECONDS", 30.0)
#: How often a worker looks for work without a notification (SQLite, or a missed NOTIFY).
WEBHOOK_POLL_SECONDS = env_float("DJANGO_WEBHOOK_POLL_SECONDS", 1.0)
#: How long the old secret keeps signing after a rotation.
WEBHOOK_ROTATION_GRACE_SECONDS = env_float("DJANGO_WEBHOOK_ROTATION_GRACE_SECONDS", 24 * 3600.0)
#: Events read from the feed at once per subscription.
WEBHOOK_BATCH = env_int("DJANGO_WEBHOOK_BATCH", 100)
#: Subscriptions one worker delivers to at once, each in a thread with its own connections.
WEBHOOK_THREADS = env_int("DJANGO_WEBHOOK_THREADS", 8)
