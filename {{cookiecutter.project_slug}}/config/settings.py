"""Settings for {{ cookiecutter.project_slug }}.

Everything that differs between machines comes from environment variables (see
.env.example); the defaults are safe for development on your own machine.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}.")


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_addresses(name):
    """(host, port) pairs from "host:port,host:port"."""
    addresses = []
    for item in env_list(name, []):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ImproperlyConfigured(f"{name} must list host:port pairs, not {item!r}.")
        addresses.append((host, int(port)))
    return addresses


# Generated for this project; set DJANGO_SECRET_KEY to your own secret in production.
SECRET_KEY = os.environ.get(
    "DJANGO_SECRET_KEY", "__SECRET_KEY__"
)

DEBUG = env_bool("DJANGO_DEBUG", True)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    # daphne first, so that `manage.py runserver` serves the ASGI application.
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    # Counts failed logins and locks out a username or a client address (AXES_* below).
    "axes",
    "django_ratelimit",
{%- if cookiecutter.persist_messages %}
    # The HTTP API (api.views) and the static files of its documentation page.
    "ninja",
{%- endif %}
    # The realtime core: the socket, the protocol, rooms in each process, presence.
    "chat",
{%- if cookiecutter.persist_messages %}
    # Saved messages, private rooms, direct conversations, memberships and moderation.
    "rooms",
    # The HTTP API and its tokens.
    "api",
{%- endif %}
    # Sign-up, login and password resets.
    "accounts",
    # The lobby and room pages and the browser client.
    "pages",
    # Probes, metrics, the drain, logs and system checks.
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of each page (LANGUAGES below): after the session, before CommonMiddleware.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "pages.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pages.context_processors.site",
            ],
        },
    },
]

ASGI_APPLICATION = "config.asgi.application"

# Persistent connections stay off (dj-database-url's default): under ASGI each request and
# each consumer call may run in a different thread, and per-thread connections would pile
# up (Django's documentation advises against them with ASGI).
DATABASES = {
    "default": dj_database_url.config(
{%- if cookiecutter.database == "postgresql" %}
        default="postgres://postgres@127.0.0.1:5432/{{ cookiecutter.project_slug }}",
{%- else %}
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
{%- endif %}
    )
}
{%- if cookiecutter.database == "postgresql" %}

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Connections come from a pool (psycopg_pool) and go back to it: Django closes them
    # after each database call of a consumer, and opening a new PostgreSQL connection for
    # every saved message was most of the time a save took. Each server process keeps
    # DATABASE_POOL_MIN_SIZE open and opens up to DATABASE_POOL_MAX_SIZE; a request that
    # finds none free waits DATABASE_POOL_TIMEOUT seconds, then fails. psycopg_pool's
    # default of 4 was too few for page loads and message saves at once.
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": int(os.environ.get("DATABASE_POOL_MIN_SIZE", "2")),
            "max_size": int(os.environ.get("DATABASE_POOL_MAX_SIZE", "10")),
            "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "10")),
        }
    }
{%- else %}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A transaction takes SQLite's write lock when it begins, not at its first write: one
    # that reads, then writes (an edit, a delete) waits its turn behind another writer
    # rather than fail with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE"}
{%- endif %}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# The channel layer carries room messages between sockets. With a Redis to use
# (channels-redis, the `redis` extra), any number of server processes share rooms,
# presence and the flood limit; without one, the in-memory layer serves one process.
{%- if cookiecutter.channel_layer == "redis" %}
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
{%- else %}
REDIS_URL = os.environ.get("REDIS_URL", "")
{%- endif %}
# Sharding: REDIS_URL may list several Redis servers, comma-separated. The channel layer
# keeps each room on one of them, by a consistent hash of its name, and presence, socket
# counts, flood limits and the cache are spread over them the same way.
REDIS_URLS = [url.strip() for url in REDIS_URL.split(",") if url.strip()]
# High availability: with REDIS_SENTINELS set ("host:port,host:port"), the channel layer
# and presence ask those Redis Sentinels for the current master of REDIS_SENTINEL_MASTER,
# and ask again when they lose it, so a failover is followed; REDIS_URL is then not used.
# REDIS_SENTINEL_MASTER may name several masters, comma-separated: shards, each with its
# own failover.
REDIS_SENTINELS = env_addresses("REDIS_SENTINELS")
REDIS_SENTINEL_MASTERS = env_list("REDIS_SENTINEL_MASTER", ["mymaster"])
if REDIS_SENTINELS and not REDIS_SENTINEL_MASTERS:
    raise ImproperlyConfigured("REDIS_SENTINEL_MASTER must name the master the Sentinels watch.")

if REDIS_SENTINELS or REDIS_URLS:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": (
                    [
                        {"sentinels": REDIS_SENTINELS, "master_name": master}
                        for master in REDIS_SENTINEL_MASTERS
                    ]
                    if REDIS_SENTINELS
                    else REDIS_URLS
                ),
                # Projects (and test runs) sharing one Redis need prefixes of their own, or
                # they hear each other's rooms.
                "prefix": os.environ.get("CHANNEL_LAYER_PREFIX", "asgi"),
                # All of a server process's room subscriptions (chat.local_rooms) share one
                # inbox in Redis, and the layer drops, silently, what arrives while a
                # process is this many messages behind in all its rooms together. Channels'
                # default, 100, is a burst in one busy room.
                "capacity": 1000,
            },
        },
    }
    # Presence, flood limits and socket counts, shared in Redis as the layer shares rooms.
    CHAT_STORES = "chat.stores.redis"
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            # The layer drops, silently, what reaches a room's subscription
            # (chat.local_rooms) while it is this many messages behind. Channels' default,
            # 100, is a burst in one busy room.
            "CONFIG": {"capacity": 1000},
        },
    }
    CHAT_STORES = "chat.stores.memory"

# The cache holds the sign-up and password-reset counts (django-ratelimit). With Redis, in
# Redis (django-redis, which follows Sentinels as the channel layer does), so that every
# server process counts the same requests; without, in this process, the only one there
# is (django-ratelimit's checks against a cache that is not shared, E003 and W001, are for
# several processes).
if REDIS_SENTINELS or REDIS_URLS:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URLS,
            "KEY_PREFIX": os.environ.get("CHANNEL_LAYER_PREFIX", "asgi"),
        }
    }
    if len(REDIS_URLS) > 1:
        CACHES["default"]["OPTIONS"] = {"CLIENT_CLASS": "django_redis.client.ShardClient"}
    if REDIS_SENTINELS:
        # django-redis follows one master: the cache stays on the first shard.
        CACHES["default"]["LOCATION"] = f"redis://{REDIS_SENTINEL_MASTERS[0]}/0"
        CACHES["default"]["OPTIONS"] = {
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_POOL_CLASS": "redis.sentinel.SentinelConnectionPool",
            "SENTINELS": REDIS_SENTINELS,
        }
        DJANGO_REDIS_CONNECTION_FACTORY = "django_redis.pool.SentinelConnectionFactory"
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # Room for the sign-up and reset counters and, where messages are not saved,
            # the ids of recent messages (chat.history), beyond LocMem's default of 300.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    SILENCED_SYSTEM_CHECKS = ["django_ratelimit.E003", "django_ratelimit.W001"]

# Django's hashers, but for the default one, which hashes here one password at a time
# per process without holding a database connection (accounts/passwords.py).
PASSWORD_HASHERS = [
    "accounts.passwords.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed logins, counted in the database (shared by every server process) by django-axes
# rather than by hand: AXES_FAILURE_LIMIT failures for one username, or from one client
# address, lock it out for AXES_COOLOFF_TIME, and each failure while locked out starts
# that time again. A successful login clears the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The address the server gives the request (behind the proxy, the one it forwards:
# daphne's --proxy-headers), never an X-Forwarded-For a client could write itself.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# Sign-ups and password-reset requests per client address (django-ratelimit's rates).
CHAT_SIGNUP_RATE = os.environ.get("CHAT_SIGNUP_RATE", "10/h")
CHAT_PASSWORD_RESET_RATE = os.environ.get("CHAT_PASSWORD_RESET_RATE", "5/h")

# E-mail, for password resets: they are offered only when EMAIL_HOST is set.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")

LOGIN_REDIRECT_URL = "chat:lobby"
LOGOUT_REDIRECT_URL = "chat:lobby"

# The languages the pages, the chat client and the socket's error texts are translated
# into (locale/). Each page is in the language picked with the switcher (a cookie),
# else the first of the browser's Accept-Language that is listed here, else LANGUAGE_CODE;
# a socket's texts are in its page's language (chat.languages).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "Korean")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

if not DEBUG:
    # Production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "3600"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"security_one_line": {"()": "ops.logs.SecurityEventsWithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["security_one_line"]},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    # Django's default logging gives "django" a console handler of its own, and its records
    # went to both: configured here without one, each line is printed once, by the root's.
    "loggers": {
        "django": {"level": "INFO"},
        # django-axes says at INFO what it is doing at every start and login; its failures
        # and lockouts are warnings.
        "axes": {"level": "WARNING"},
    },
}

# Chat behaviour; the README explains each setting.
# Let visitors who are not logged in chat under a guest name.
CHAT_ALLOW_ANONYMOUS = env_bool("CHAT_ALLOW_ANONYMOUS", True)
# Longest message accepted, in characters; longer ones get an error frame, not a broadcast.
CHAT_MAX_MESSAGE_LENGTH = int(os.environ.get("CHAT_MAX_MESSAGE_LENGTH", "4000"))
# Flood control per sender (a user, else a guest session, else a socket), shared by the
# sender's sockets on one server process: a burst, then a sustained rate per second. A
# frame over the limit gets a rate_limited error; this many in a row close the socket.
CHAT_RATE_LIMIT_BURST = int(os.environ.get("CHAT_RATE_LIMIT_BURST", "10"))
CHAT_RATE_LIMIT_PER_SECOND = float(os.environ.get("CHAT_RATE_LIMIT_PER_SECOND", "2"))
CHAT_RATE_LIMIT_STRIKES = int(os.environ.get("CHAT_RATE_LIMIT_STRIKES", "20"))
# Limits at the edge, applied by the server of `python -m config.serve` (ops/server.py).
# Seconds a connection has to send each complete request (headers and body), from its
# opening or its last response.
CHAT_HANDSHAKE_TIMEOUT = float(os.environ.get("CHAT_HANDSHAKE_TIMEOUT", "10"))
# Largest request body in bytes, refused with 413 before it is read: the forms of this
# project are small (Django's DATA_UPLOAD_MAX_MEMORY_SIZE applies only once it is read).
CHAT_MAX_REQUEST_BODY = int(os.environ.get("CHAT_MAX_REQUEST_BODY", str(1024 * 1024)))
# WebSocket frames of any kind (fragments and pings too) a socket may send at once, then
# per second; over that it is closed with 1008.
CHAT_SOCKET_FRAME_BURST = int(os.environ.get("CHAT_SOCKET_FRAME_BURST", "200"))
CHAT_SOCKET_FRAMES_PER_SECOND = float(os.environ.get("CHAT_SOCKET_FRAMES_PER_SECOND", "50"))
# Sockets one sender (a logged-in user, or a guest's session) and one client address may
# hold open at once, on all server processes together; more are refused with 4409. An
# address may be a whole office behind one NAT.
CHAT_MAX_SOCKETS_PER_SENDER = int(os.environ.get("CHAT_MAX_SOCKETS_PER_SENDER", "20"))
CHAT_MAX_SOCKETS_PER_ADDRESS = int(os.environ.get("CHAT_MAX_SOCKETS_PER_ADDRESS", "200"))
# Seconds a socket stays listed as online without renewing its entry: how long a user
# whose server process died still shows as online.
CHAT_PRESENCE_TTL = float(os.environ.get("CHAT_PRESENCE_TTL", "30"))
# Sockets that may wait their turn to join a room, per server process, when a crowd
# reconnects at once; more are refused with "try again later" (chat.admission).
CHAT_MAX_WAITING_JOINS = int(os.environ.get("CHAT_MAX_WAITING_JOINS", "1000"))
# On SIGTERM the server of `python -m config.serve` drains (ops.drain): it tells each open
# socket to reconnect elsewhere, after a delay spread over CHAT_DRAIN_SPREAD seconds, and
# waits up to CHAT_DRAIN_TIMEOUT seconds for them to close before it stops. Keep the
# timeout under what your orchestrator waits before SIGKILL (compose.yaml's
# stop_grace_period, Kubernetes' terminationGracePeriodSeconds).
CHAT_DRAIN_TIMEOUT = float(os.environ.get("CHAT_DRAIN_TIMEOUT", "10"))
CHAT_DRAIN_SPREAD = float(os.environ.get("CHAT_DRAIN_SPREAD", "5"))
# The bearer token Prometheus sends to /metrics (ops.metrics); unset, /metrics is a 404.
CHAT_METRICS_TOKEN = os.environ.get("CHAT_METRICS_TOKEN", "")
{%- if cookiecutter.persist_messages %}
# Where the core keeps history and asks who may join (chat.rooms_backend): the rooms app
# saves messages and keeps private rooms in the database.
CHAT_ROOMS_BACKEND = "rooms"
# Messages sent to a socket when it connects, and the largest history page.
CHAT_HISTORY_LENGTH = 50
# Rooms with recent messages listed in the lobby.
CHAT_LOBBY_ROOMS = 20
{%- else %}
# Where the core keeps history and asks who may join (chat.rooms_backend): messages reach
# the sockets open when they are sent and are not kept; every room is public.
CHAT_ROOMS_BACKEND = "chat.unsaved"
{%- endif %}

# Name shown in page titles and headers.
SITE_NAME = {{ cookiecutter.project_name | string_literal }}
