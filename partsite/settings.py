"""Partsite settings.

Everything a deployment changes comes from the environment; the defaults are the
embedded setup that `make run` starts (SQLite, files on local disk, a broker in a
SQLite file). README.md lists every variable.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from partsite import broker
from partsite.addresses import trusted_networks
from partsite.logs import logging_config


def envbool(name, default):
    return os.environ.get(name, str(default)).strip().lower() in ("1", "true", "yes", "on")


def envint(name, default):
    return int(os.environ.get(name, default))


def envlist(name, default):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("PARTSITE_DATA_DIR", BASE_DIR / "data")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key():
    """Use SECRET_KEY when given; otherwise keep a generated one in the data dir."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
# `make run HOST=0.0.0.0` listens on every address of the machine, so it answers to any name
# (the shop's tablets reach it as 192.168.x.y or by the machine's name) unless ALLOWED_HOSTS
# narrows it. On one address, it answers to that address and to localhost.
_SERVES_EVERY_ADDRESS = os.environ.get("HOST") in ("0.0.0.0", "::")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "*" if _SERVES_EVERY_ADDRESS else "localhost,127.0.0.1,[::1]")
if os.environ.get("HOST") and not _SERVES_EVERY_ADDRESS:
    ALLOWED_HOSTS.append(os.environ["HOST"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "django_object_actions",
    "axes",
    "csp",
    "partsite",
    "parts",
    "files",
    "audit",
]

MIDDLEWARE = [
    "partsite.health.ProbeMiddleware",  # first: probes are answered, not logged
    "partsite.logs.RequestLogMiddleware",
    "partsite.bodies.RequestBodyMiddleware",  # before anything reads a body: too large, not UTF-8
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "partsite.headers.ContentSecurityPolicyMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "partsite.headers.PrivatePagesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "partsite.addresses.ClientAddressAuditlogMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: it turns a lockout into its page
]

ROOT_URLCONF = "partsite.urls"
WSGI_APPLICATION = "partsite.wsgi.application"

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
                "partsite.pages.page_context",
                "audit.views.inbox_context",
            ],
        },
    },
]

# Database: SQLite in the data dir unless DATABASE_URL says otherwise.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'partsite.sqlite3'}",
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0),
    )
}
# A database that stops answering must not hold a request (and its gunicorn thread) for ever:
# connecting gives up after DATABASE_CONNECT_TIMEOUT seconds and, on PostgreSQL, a statement
# after DATABASE_STATEMENT_TIMEOUT (0: no limit). The request then gets a 503 naming the database.
DATABASE_CONNECT_TIMEOUT = envint("DATABASE_CONNECT_TIMEOUT", 5)
DATABASE_STATEMENT_TIMEOUT = envint("DATABASE_STATEMENT_TIMEOUT", 30)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", DATABASE_CONNECT_TIMEOUT)
    if DATABASE_STATEMENT_TIMEOUT:
        DATABASES["default"]["OPTIONS"].setdefault("options", f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT * 1000}")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, so two workflow
    # moves on the same part queue up instead of both reading the old status.
    # `timeout` bounds the wait for another process's write lock.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file too, not Django's in-memory default, so that concurrent writers
    # queue for the lock as they do in production instead of failing on table locks.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Several sites (or test runs) may share one Redis: each prefixes its cache and broker keys.
REDIS_KEY_PREFIX = os.environ.get("REDIS_KEY_PREFIX", "")

# Cache: shared by every process (rate limits must hold across web workers).
CACHE_URL = os.environ.get("CACHE_URL", "")
if CACHE_URL.startswith("redis"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL,
            "KEY_PREFIX": REDIS_KEY_PREFIX,
            # A Redis that stops answering costs a request one second, not the operating
            # system's TCP timeout; the rate limit then lets the request through.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# django-axes counts failed sign-ins (partsite/auth.py counts failed API keys with it too).
AUTHENTICATION_BACKENDS = [
    "partsite.auth.SignInLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
MEDIA_ROOT = DATA_DIR / "media"
# The pages' own CSS and scripts, and the front-end libraries `npm ci` put in node_modules/
# (package.json pins them): Partsite serves every asset itself, so it works offline.
STATICFILES_DIRS = [BASE_DIR / "static"]
_THREE = BASE_DIR / "node_modules" / "three"
_THREE_FOLDERS = {
    "build": "build",
    "jsm/controls": "examples/jsm/controls",
    "jsm/loaders": "examples/jsm/loaders",
    "jsm/utils": "examples/jsm/utils",
    "jsm/libs": "examples/jsm/libs",  # meshopt_decoder.module.js, for compact models (files.compact)
}
STATICFILES_DIRS += [
    (f"vendor/three/{prefix}", _THREE / folder) for prefix, folder in _THREE_FOLDERS.items() if (_THREE / folder).is_dir()
]

# CAD files live in object storage: S3 or MinIO when AWS_STORAGE_BUCKET_NAME is set,
# the data dir otherwise. django-storages reads the AWS_* settings below.
AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
# Where clients reach storage, when that is another host than the one Partsite uses
# (MinIO at http://minio:9000 inside a compose network, https://files.example.com outside).
AWS_S3_PUBLIC_ENDPOINT_URL = os.environ.get("AWS_S3_PUBLIC_ENDPOINT_URL") or AWS_S3_ENDPOINT_URL
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME", "us-east-1")
AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY")
AWS_S3_ADDRESSING_STYLE = os.environ.get("AWS_S3_ADDRESSING_STYLE", "path" if AWS_S3_ENDPOINT_URL else "auto")
AWS_S3_SIGNATURE_VERSION = "s3v4"
AWS_DEFAULT_ACL = None  # objects stay private; clients get presigned links
AWS_QUERYSTRING_AUTH = True
AWS_S3_FILE_OVERWRITE = False
AWS_S3_MAX_MEMORY_SIZE = 8 * 1024 * 1024  # S3File spools to disk past this (its default never does)

STORAGES = {
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage"
        if AWS_STORAGE_BUCKET_NAME
        else "django.core.files.storage.FileSystemStorage"
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Uploads. Files arrive in 1 MiB chunks and are spooled to disk, never held in memory.
MAX_UPLOAD_MB = envint("MAX_UPLOAD_MB", 500)
FILE_UPLOAD_TEMP_DIR = DATA_DIR / "tmp"
FILE_UPLOAD_TEMP_DIR.mkdir(exist_ok=True)
# Direct (resumable) uploads: parts of this size, expiring after this long. On local
# disk the parts wait in UPLOAD_PARTS_DIR until the upload completes.
UPLOAD_PART_SIZE_MB = envint("UPLOAD_PART_SIZE_MB", 8)
UPLOAD_EXPIRE_HOURS = envint("UPLOAD_EXPIRE_HOURS", 24)
UPLOAD_PARTS_DIR = DATA_DIR / "uploads"
# A completion still `completing` after this long was interrupted (its process died): the
# clean-up reopens it so the client can complete it again.
UPLOAD_COMPLETING_STALE_MINUTES = envint("UPLOAD_COMPLETING_STALE_MINUTES", 30)
# Orphan objects, parts no upload owns and temp files left by killed processes are removed by
# the hourly clean-up once they are this old (verify_storage reports them at once).
STORAGE_LEFTOVER_GRACE_HOURS = envint("STORAGE_LEFTOVER_GRACE_HOURS", 24)
DOWNLOAD_LINK_EXPIRE_SECONDS = envint("DOWNLOAD_LINK_EXPIRE_SECONDS", 300)

# STEP to GLB conversion, each in a child process with these limits.
CONVERSION_TIMEOUT_SECONDS = envint("CONVERSION_TIMEOUT_SECONDS", 120)
CONVERSION_MEMORY_MB = envint("CONVERSION_MEMORY_MB", 2048)
CONVERSION_MAX_ATTEMPTS = envint("CONVERSION_MAX_ATTEMPTS", 3)
# GLBs larger than this are also stored meshopt-compressed for the 3D view (files.compact).
GLB_COMPACT_MIN_BYTES = envint("GLB_COMPACT_MIN_BYTES", 1024 * 1024)
GLB_COMPACT_TIMEOUT_SECONDS = envint("GLB_COMPACT_TIMEOUT_SECONDS", 120)
# The PNG preview drawn after each conversion, in a child process of its own.
PREVIEW_TIMEOUT_SECONDS = envint("PREVIEW_TIMEOUT_SECONDS", 30)
PREVIEW_MEMORY_MB = envint("PREVIEW_MEMORY_MB", 1024)

# Celery: the embedded broker is a SQLite file in the data dir (partsite/broker.py), which needs
# no server; CELERY_BROKER_URL switches to Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or broker.url(DATA_DIR / "broker.sqlite3")
if CELERY_BROKER_URL.startswith("redis") and REDIS_KEY_PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": REDIS_KEY_PREFIX}
# Each worker notes every few seconds that it is consuming (partsite/heartbeat.py); /ready/
# names a queue whose worker has been silent for longer than WORKER_STALE_SECONDS.
WORKER_HEARTBEAT_SECONDS = 5
WORKER_STALE_SECONDS = 30
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Conversions have a queue of their own, so a flood of uploads never delays the other
# tasks. A worker started without -Q consumes both; production runs one worker per queue.
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_QUEUES = {"celery": {}, "conversions": {}}
CELERY_TASK_ROUTES = {
    "files.tasks.convert_revision": {"queue": "conversions"},
    "files.tasks.render_preview": {"queue": "conversions"},
}
# A conversion still `pending` after this long lost its message (the broker was down at
# upload time, or restarted empty) and is queued again; claiming makes a double harmless.
CONVERSION_PENDING_REQUEUE_MINUTES = envint("CONVERSION_PENDING_REQUEUE_MINUTES", 10)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partsite.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["partsite.roles.HasRole"],
    "DEFAULT_PARSER_CLASSES": [
        "partsite.bodies.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_METADATA_CLASS": "partsite.metadata.ApiMetadata",
    "DEFAULT_THROTTLE_CLASSES": ["partsite.auth.AnonymousThrottle"],
    "DEFAULT_PAGINATION_CLASS": "partsite.pagination.CappedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "partsite.errors.api_exception_handler",
}

# The client's address: the peer's, or the one a trusted proxy forwarded (partsite/addresses.py).
# Addresses or networks of the proxies in front of Partsite; empty: X-Forwarded-For is ignored.
TRUSTED_PROXIES = envlist("TRUSTED_PROXIES", "")
trusted_networks(TRUSTED_PROXIES)  # a wrong entry stops the start, naming it

# Anonymous requests per client address (the API docs and schema; the rest needs credentials).
ANONYMOUS_RATE = os.environ.get("ANONYMOUS_RATE", "60/min")
# Lockouts: only failures count, per credential (a username, an API key's lookup) and client
# address. Failures add up while each comes within AUTH_FAILURE_WINDOW_SECONDS of the one before;
# the AUTH_FAILURE_LIMIT-th locks that credential out from that address until that long passes
# without another failure.
AUTH_FAILURE_LIMIT = envint("AUTH_FAILURE_LIMIT", 10)
AUTH_FAILURE_WINDOW_SECONDS = envint("AUTH_FAILURE_WINDOW_SECONDS", 900)
AXES_FAILURE_LIMIT = "partsite.auth.failure_limit"
AXES_COOLOFF_TIME = "partsite.auth.lockout_time"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "partsite.addresses.client_address"
AXES_LOCKOUT_CALLABLE = "partsite.auth.locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # audit.AuthEvent records every sign-in already
AXES_VERBOSE = False  # no banner in every process's log at start

# Content-Security-Policy (django-csp). Every script and style is served by Partsite itself;
# the part page's import map and the pages' badge colours are inline with the request's nonce.
# partsite/headers.py adds the S3 bucket to connect-src; partsite/urls.py loosens it for the API docs.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        # wasm-unsafe-eval lets the 3D view compile three.js's meshopt decoder (WebAssembly, for the
        # compact models of files.compact); it allows no JavaScript eval.
        "script-src": [SELF, NONCE, "'wasm-unsafe-eval'"],
        "style-src": [SELF, NONCE],
        "img-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Browser features no Partsite page uses, refused to the pages and anything they might embed.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "hid", "magnetometer",
        "microphone", "midi", "payment", "serial", "usb",
    )
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Partsite API",
    "DESCRIPTION": "Parts, their lifecycle and their CAD files. Authenticate with an `X-API-Key` header.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": STATIC_URL + "partsite/favicon.svg",
    # No validator: Swagger UI would send the schema's address to validator.swagger.io.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "PartStatusEnum": "parts.lifecycle.Status",
        "ConversionStatusEnum": "files.models.ConversionStatus",
        "KindEnum": "files.models.Kind",
        "AuditEntryKindEnum": "audit.selectors.KINDS",
        "AuditActionEnum": "audit.selectors.ACTIONS",
        "HistoryEntryKindEnum": "audit.selectors.HISTORY_KINDS",
    },
}

AUDITLOG_INCLUDE_ALL_MODELS = False
# Change entries name related objects ("assignee: bob", "approved revision: R2 ...") rather than ids.
AUDITLOG_USE_FK_STRING_REPRESENTATION = True

# The part page's admin buttons (one per move) are forms that POST, never links a GET could follow.
DJANGO_OBJECT_ACTIONS_DEFAULT_HTTP_METHOD = "POST"

# JSON lines on the console and, with PARTSITE_LOG_FILE, in a rotating file (partsite/logs.py).
LOGGING_CONFIG = "partsite.logs.configure"
LOGGING = logging_config(
    level=os.environ.get("LOG_LEVEL", "INFO"),
    file=os.environ.get("PARTSITE_LOG_FILE") or None,
    file_max_mb=envint("PARTSITE_LOG_FILE_MAX_MB", 10),
    file_backups=envint("PARTSITE_LOG_FILE_BACKUPS", 5),
)
# The worker logs through the same configuration instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# django-axes logs every sign-in at INFO and every failure and lockout at WARNING. The audit trail
# records each of them (audit.AuthEvent) and the request line says 401 or 429, so a refused
# request stays one line: only axes' errors are logged.
LOGGING.setdefault("loggers", {})["axes"] = {"level": "ERROR"}

SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS. Off by default so that `make run` works on http://127.0.0.1; production turns
# them on (docker/.env.example does), and `manage.py check --deploy` then passes.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# Behind a proxy that terminates TLS, its X-Forwarded-Proto header says whether the
# client used HTTPS. Only set this when the proxy always sets (or strips) that header.
if envbool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    # Conversions whose message was lost (broker down at upload, worker killed) start again.
    # A conversion whose worker died is taken up again within this long (files.conversion).
    "requeue-stalled-conversions": {"task": "files.tasks.requeue_stalled_conversions", "schedule": 20},
    # Uploads left `completing` are reopened, abandoned ones expire.
    "expire-abandoned-uploads": {"task": "files.tasks.expire_uploads", "schedule": 600},
    "remove-storage-leftovers": {"task": "files.tasks.remove_storage_leftovers", "schedule": 3600},
    # Events, webhook deliveries and emails whose message was lost are queued again.
    "tell-what-was-missed": {"task": "audit.tasks.tell_what_was_missed", "schedule": 60},
}

# Where people and other systems reach the site: the links in emails and webhook payloads.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000")

# Email: notifications go to the console (the worker's log) unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = envint("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", not EMAIL_USE_SSL)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT_SECONDS", 30)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Partsite <partsite@localhost>")

# Onshape: parts link to tabs on these hosts; imports call the API at ONSHAPE_API_URL with an API key pair.
ONSHAPE_HOSTS = envlist("ONSHAPE_HOSTS", "cad.onshape.com")
ONSHAPE_API_URL = os.environ.get("ONSHAPE_API_URL", "https://cad.onshape.com")
ONSHAPE_ACCESS_KEY = os.environ.get("ONSHAPE_ACCESS_KEY", "")
ONSHAPE_SECRET_KEY = os.environ.get("ONSHAPE_SECRET_KEY", "")
ONSHAPE_TIMEOUT_SECONDS = envint("ONSHAPE_TIMEOUT_SECONDS", 30)
# How often an import asks whether Onshape's export is done, and when it gives up waiting.
ONSHAPE_POLL_SECONDS = envint("ONSHAPE_POLL_SECONDS", 5)
ONSHAPE_TRANSLATION_TIMEOUT_SECONDS = envint("ONSHAPE_TRANSLATION_TIMEOUT_SECONDS", 900)

# Malware scanning: every upload is streamed to this clamd (unix:///path or tcp://host:3310); off when empty.
CLAMAV_ADDRESS = os.environ.get("CLAMAV_ADDRESS", "")
CLAMAV_TIMEOUT_SECONDS = envint("CLAMAV_TIMEOUT_SECONDS", 120)

# Webhooks: each delivery is tried at once, then after each of these pauses (about a day in all).
WEBHOOK_RETRY_SECONDS = [int(pause) for pause in envlist("WEBHOOK_RETRY_SECONDS", "5,300,1800,7200,18000,36000,36000")]
WEBHOOK_TIMEOUT_SECONDS = envint("WEBHOOK_TIMEOUT_SECONDS", 10)
# An endpoint that failed this many attempts in a row is disabled, and the leads are told.
WEBHOOK_DISABLE_AFTER_FAILURES = envint("WEBHOOK_DISABLE_AFTER_FAILURES", 15)
# Receivers on this machine (127.0.0.0/8, ::1); link-local addresses are never allowed.
WEBHOOK_ALLOW_LOOPBACK = envbool("WEBHOOK_ALLOW_LOOPBACK", False)
