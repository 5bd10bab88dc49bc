"""Settings for {{ cookiecutter.project_slug }}.

Everything that differs between machines comes from environment variables, read with
environs: a value of the wrong type stops the server with the variable's name.
docs/settings.md explains each; .env.example lists them with their defaults here, which
are safe for development on your own machine.
"""

from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from environs import Env, ValidationError

BASE_DIR = Path(__file__).resolve().parent.parent

env = Env()


@env.parser_for("names")
def names(value):
    """Comma-separated items, blanks around them and empty ones left out."""
    return [item.strip() for item in value.split(",") if item.strip()]


@env.parser_for("addresses")
def addresses(value):
    """(host, port) pairs from "host:port,host:port"."""
    pairs = []
    for item in names(value):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValidationError(f"must list host:port pairs, not {item!r}")
        pairs.append((host, int(port)))
    return pairs


# Generated for this project; set DJANGO_SECRET_KEY to your own secret in production.
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", "__SECRET_KEY__"
)

DEBUG = env.bool("DJANGO_DEBUG", True)

ALLOWED_HOSTS = env.names("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")

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
    "default": env.dj_db_url(
        "DATABASE_URL",
{%- if cookiecutter.database == "postgresql" %}
        "postgres://postgres@127.0.0.1:5432/{{ cookiecutter.project_slug }}",
{%- else %}
        f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
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
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", 2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", 10),
            "timeout": env.float("DATABASE_POOL_TIMEOUT", 10),
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
# Sharding: REDIS_URL may list several Redis servers, comma-separated. The channel layer
# keeps each room on one of them, by a consistent hash of its name, and presence, socket
# counts, flood limits and the cache are spread over them the same way.
{%- if cookiecutter.channel_layer == "redis" %}
REDIS_URLS = env.names("REDIS_URL", "redis://127.0.0.1:6379/0")
{%- else %}
REDIS_URLS = env.names("REDIS_URL", "")
{%- endif %}
# High availability: with REDIS_SENTINELS set ("host:port,host:port"), the channel layer
# and presence ask those Redis Sentinels for the current master of REDIS_SENTINEL_MASTER,
# and ask again when they lose it, so a failover is followed; REDIS_URL is then not used.
# REDIS_SENTINEL_MASTER may name several masters, comma-separated: shards, each with its
# own failover.
REDIS_SENTINELS = env.addresses("REDIS_SENTINELS", "")
REDIS_SENTINEL_MASTERS = env.names("REDIS_SENTINEL_MASTER", "mymaster")
if REDIS_SENTINELS and not REDIS_SENTINEL_MASTERS:
    raise ImproperlyConfigured("REDIS_SENTINEL_MASTER must name the master the Sentinels watch.")
# Projects (and test runs) sharing one Redis need prefixes of their own, or they hear each
# other's rooms and share each other's counts.
REDIS_PREFIX = env.str("CHANNEL_LAYER_PREFIX", "asgi")

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
                "prefix": REDIS_PREFIX,
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
    # The cache holds the sign-up and password-reset counts (django-ratelimit), in Redis
    # too (django-redis, which follows Sentinels as the channel layer does), so that every
    # server process counts the same requests.
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URLS,
            "KEY_PREFIX": REDIS_PREFIX,
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
    # The sign-up and password-reset counts in this process, the only one there is.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # Room for the sign-up and reset counters and, where messages are not saved,
            # the ids of recent messages (chat.unsaved.history), beyond LocMem's 300.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
    # django-ratelimit's checks against a cache that is not shared are for several
    # processes.
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
CHAT_SIGNUP_RATE = env.str("CHAT_SIGNUP_RATE", "10/h")
CHAT_PASSWORD_RESET_RATE = env.str("CHAT_PASSWORD_RESET_RATE", "5/h")

# E-mail, for password resets: they are offered only when EMAIL_HOST is set.
EMAIL_HOST = env.str("EMAIL_HOST", "")
EMAIL_PORT = env.int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "webmaster@localhost")

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
    "staticfiles": {"BACKEND": "pages.storage.HashedStaticFilesStorage"},
}

if not DEBUG:
    # Production runs behind a TLS-terminating proxy that sets X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env.names("DJANGO_CSRF_TRUSTED_ORIGINS", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"security_one_line": {"()": "ops.logs.SecurityEventsWithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["security_one_line"]},
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    # Django's default logging gives "django" a console handler of its own, which would print
    # its records a second time: configured here without one, the root's prints each once.
    "loggers": {
        "django": {"level": "INFO"},
        # django-axes says at INFO what it is doing at every start and login; its failures
        # and lockouts are warnings.
        "axes": {"level": "WARNING"},
    },
}

# The chat's own settings: docs/settings.md explains each, and a test keeps its table in
# step with these lines.
CHAT_ALLOW_ANONYMOUS = env.bool("CHAT_ALLOW_ANONYMOUS", True)
CHAT_MAX_MESSAGE_LENGTH = env.int("CHAT_MAX_MESSAGE_LENGTH", 4000)
CHAT_RATE_LIMIT_BURST = env.int("CHAT_RATE_LIMIT_BURST", 10)
CHAT_RATE_LIMIT_PER_SECOND = env.float("CHAT_RATE_LIMIT_PER_SECOND", 2)
CHAT_RATE_LIMIT_STRIKES = env.int("CHAT_RATE_LIMIT_STRIKES", 20)
CHAT_HANDSHAKE_TIMEOUT = env.float("CHAT_HANDSHAKE_TIMEOUT", 10)
CHAT_MAX_REQUEST_BODY = env.int("CHAT_MAX_REQUEST_BODY", 1024 * 1024)
CHAT_SOCKET_FRAME_BURST = env.int("CHAT_SOCKET_FRAME_BURST", 200)
CHAT_SOCKET_FRAMES_PER_SECOND = env.float("CHAT_SOCKET_FRAMES_PER_SECOND", 50)
CHAT_MAX_SOCKETS_PER_SENDER = env.int("CHAT_MAX_SOCKETS_PER_SENDER", 20)
CHAT_MAX_SOCKETS_PER_ADDRESS = env.int("CHAT_MAX_SOCKETS_PER_ADDRESS", 200)
CHAT_PRESENCE_TTL = env.float("CHAT_PRESENCE_TTL", 30)
CHAT_MAX_WAITING_JOINS = env.int("CHAT_MAX_WAITING_JOINS", 1000)
CHAT_DRAIN_TIMEOUT = env.float("CHAT_DRAIN_TIMEOUT", 10)
CHAT_DRAIN_SPREAD = env.float("CHAT_DRAIN_SPREAD", 5)
CHAT_METRICS_TOKEN = env.str("CHAT_METRICS_TOKEN", "")
{%- if cookiecutter.persist_messages %}
CHAT_ROOMS_BACKEND = "rooms"
CHAT_HISTORY_LENGTH = 50
CHAT_LOBBY_ROOMS = 20
{%- else %}
CHAT_ROOMS_BACKEND = "chat.unsaved"
{%- endif %}

# Name shown in page titles and headers.
SITE_NAME = {{ cookiecutter.project_name | string_literal }}
