"""cloudblog settings: one file, every value from the environment (DESIGN.md section 4).

Defaults give a working single-process site on SQLite; production sets the rest.
A malformed value raises ImproperlyConfigured naming the variable.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from csp import constants as csp
from django.core.exceptions import ImproperlyConfigured

from config.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_secret,
    env_str,
    parse_database_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CLOUDBLOG_VAR_DIR", str(BASE_DIR / "var")))

DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_secret("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=false (the dev key is public)"
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

SITE_NAME = env_str("SITE_NAME", "cloudblog")
SITE_TAGLINE = env_str("SITE_TAGLINE", "Just another cloudblog site")
# The canonical address (scheme and host): what the sitemap's URLs start with, since
# the periodic job that renders it has no request to take a host from.
SITE_URL = (env_str("SITE_URL") or "").rstrip("/")
if SITE_URL and not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]+)?", SITE_URL):
    raise ImproperlyConfigured(
        f"SITE_URL must be a scheme and host like https://blog.example.com, got {SITE_URL!r}"
    )

INSTALLED_APPS = [
    # django.contrib.admin with the dashboard and the System section as its default site.
    "blog.admin_site.BlogAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    # Login throttling (webtier/throttle.py); before webtier, whose admin.py adjusts axes'.
    "axes",
    "csp",
    "corsheaders",
    # Ours, lowest first: each may import only those above it (README, "Layout").
    "media_store",
    "webtier",
    "worker",
    "media_library",
    "blog",
    "wordpress",
    "maintenance",
]

# --- Static -----------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))

MIDDLEWARE = [
    # One id per request, in the response and the access log (webtier/request.py).
    "webtier.request.RequestIdMiddleware",
    # CORS for the API, outside the page cache: a cached answer gets the caller's origin.
    "wordpress.api.cors.WordPressCorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files: nginx serves them in production; WhiteNoise covers a bare gunicorn.
    *(["whitenoise.middleware.WhiteNoiseMiddleware"] if STATIC_ROOT.is_dir() else []),
    # Decides, before anything reads, whether this request may read from the replica.
    "webtier.routing.ReplicaRoutingMiddleware",
    # Anonymous pages from Redis, before sessions or anything else does work; signed-in
    # readers' pages too, finished by HoleFillMiddleware below (webtier/holes.py).
    "webtier.page_cache.PageCacheMiddleware",
    # Content-Security-Policy (django-csp). Inside the page cache, so a cached page keeps
    # the header (and nonce) it was rendered with.
    "csp.middleware.CSPMiddleware",
    # The admin's Site settings, read once per rendered request (blog/site_settings.py).
    "blog.middleware.SiteSettingsMiddleware",
    # Django's SessionMiddleware, starting from the session the page cache read in its
    # own round trip to Redis, when it did (webtier/session_prefetch.py).
    "webtier.session_prefetch.PrefetchedSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's AuthenticationMiddleware, with the user's row from Redis (webtier/users.py):
    # a signed-in page the page cache answers needs no database at all.
    "webtier.users.CachedUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A signed-in reader's page from the shared copy the page cache found: their user,
    # session, CSRF token and messages are known by now.
    "webtier.holes.HoleFillMiddleware",
    # /?rest_route= and the API's discovery Link header on every HTML page.
    "wordpress.api.middleware.RestApiMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Old WordPress URLs (/?p=123, old permalinks, /wp-content/uploads/...) answer 301;
    # inside the page cache, which keeps those answers like any page.
    "wordpress.redirects.OldUrlMiddleware",
    # Turns a request that reached a login limit into the 429 page (webtier/throttle.py).
    "axes.middleware.AxesMiddleware",
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
                "blog.context_processors.site",
                "wordpress.api.context_processors.rest_api",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": parse_database_url(
        "DATABASE_URL",
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        BASE_DIR,
    )
}
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = parse_database_url(
        "DATABASE_REPLICA_URL", DATABASE_REPLICA_URL, BASE_DIR
    )
    # In tests, a second connection to the test database: it sees committed rows only.
    DATABASES["replica"]["TEST"] = {**DATABASES["replica"].get("TEST", {}), "MIRROR": "default"}
for _alias in DATABASES.values():
    _alias["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
    _alias["CONN_HEALTH_CHECKS"] = True
DATABASE_ROUTERS = ["webtier.routing.ReplicaRouter"]
# After a write, that visitor reads from the writer for this long (read-your-writes).
READ_YOUR_WRITES_SECONDS = env_int("READ_YOUR_WRITES_SECONDS", 5, minimum=0)
# What the 503 page tells clients when the writer cannot be reached.
WRITER_RETRY_AFTER = env_int("WRITER_RETRY_AFTER", 30, minimum=1)
# After the replica could not be reached, a process reads from the writer this long.
REPLICA_RETRY_SECONDS = env_int("REPLICA_RETRY_SECONDS", 10, minimum=1)
# /readyz: how long each dependency check may take.
READINESS_TIMEOUT = env_int("READINESS_TIMEOUT_MS", 1000, minimum=50) / 1000
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and sessions ---------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            f"REDIS_URL must start with redis:// or rediss://, got {REDIS_URL!r}"
        )
    CACHES = {
        "default": {
            # django-redis with a breaker and a database-held key epoch (webtier/cache.py).
            "BACKEND": "webtier.redis_cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "cloudblog"),
            "KEY_FUNCTION": "webtier.cache.make_key",
            "REVERSE_KEY_FUNCTION": "webtier.cache.reverse_key",
            "OPTIONS": {
                # A dead Redis must cost milliseconds, not seconds, per request.
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# After a Redis failure, skip Redis for this long; then try again by itself.
CACHE_RETRY_SECONDS = env_int("CACHE_RETRY_SECONDS", 5, minimum=0)
# How stale a process's copy of the cache epoch may be (webtier/cache.py).
CACHE_EPOCH_TTL = env_int("CACHE_EPOCH_TTL_MS", 1000, minimum=0) / 1000

# Full-page cache for anonymous readers (webtier/page_cache.py); it needs a cache that
# every instance shares, so it is off without Redis unless asked for.
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 300 if REDIS_URL else 0, minimum=0)
# Write-through: after a publish, an edit, a trash or a moderated comment, a task renders
# the pages it shows on (the post, home, its archives' first pages, the feeds) into the page
# cache, so their first reader finds them there (webtier/page_refresh.py). false: their
# first readers render them.
PAGE_CACHE_WRITE_THROUGH = env_bool("PAGE_CACHE_WRITE_THROUGH", True)
# How long a shared cache in front of the instances (haproxy's cache in the local cluster,
# a CDN in production) may serve a page-cached anonymous page without asking Django:
# `Cache-Control: s-maxage`. Every second of it is a second a change can go unseen by
# anonymous readers, as the page cache's own invalidation cannot reach that cache. 0: off.
EDGE_CACHE_SECONDS = env_int("EDGE_CACHE_SECONDS", 0, minimum=0)
# /sitemap.xml is served from a copy in the shared cache, re-rendered by the
# `refresh-sitemap` periodic job (cron.yaml runs it more often than this) and by an
# instance only when no copy is this fresh. 0: rendered on every request.
SITEMAP_REFRESH_SECONDS = env_int("SITEMAP_REFRESH_SECONDS", 900 if REDIS_URL else 0, minimum=0)
# URLs per sitemap file: /sitemap.xml becomes an index of files of at most this many
# (50,000 is the protocol's limit, where search engines stop reading).
SITEMAP_LIMIT = env_int("SITEMAP_LIMIT", 50_000, minimum=1)
# The longest a list's cached count and page anchors live (blog/listing.py); they are
# dropped at once when a post changes, this only bounds a change made behind the ORM.
LISTING_CACHE_SECONDS = env_int("LISTING_CACHE_SECONDS", 300, minimum=1)

SESSION_STORE = env_choice(
    "SESSION_STORE",
    "cached_db" if REDIS_URL else "db",
    ("db", "cached_db", "cache", "signed_cookies", "dynamodb"),
)
if SESSION_STORE == "cache" and not REDIS_URL:
    raise ImproperlyConfigured(
        "SESSION_STORE=cache needs REDIS_URL: a per-process cache would log users out "
        "whenever another instance serves them"
    )
if SESSION_STORE == "signed_cookies" and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "SESSION_STORE=signed_cookies needs a real DJANGO_SECRET_KEY: anyone can forge "
        "cookies signed with the public dev key"
    )
SESSION_ENGINE = (
    "webtier.sessions_dynamodb"
    if SESSION_STORE == "dynamodb"
    else f"django.contrib.sessions.backends.{SESSION_STORE}"
)
# SESSION_STORE=dynamodb: the table (webtier/sessions_dynamodb.py; the stack creates it).
SESSION_DYNAMODB_TABLE = env_str("SESSION_DYNAMODB_TABLE", "cloudblog-sessions")
if not re.fullmatch(r"[A-Za-z0-9_.-]{3,255}", SESSION_DYNAMODB_TABLE):
    raise ImproperlyConfigured(
        "SESSION_DYNAMODB_TABLE must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -), "
        f"got {SESSION_DYNAMODB_TABLE!r}"
    )

# --- Auth -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes, webtier/throttle.py; README "Login throttling"): failures
# are counted in the database every instance shares, by the client address client_ip()
# reads behind TRUSTED_PROXY_COUNT proxies. An account and an address together are locked
# after LOGIN_FAILURE_LIMIT failures, an address alone after LOGIN_IP_FAILURE_LIMIT; a lock
# ends LOGIN_COOLOFF_SECONDS after the last failure.
# The throttle first (axes refuses a locked client before any password is checked);
# then application passwords, which answer only requests the REST API marked and are
# cheap to check, so a real password never pays for them (wordpress/app_passwords.py).
AUTHENTICATION_BACKENDS = [
    "webtier.throttle.ThrottleBackend",
    "wordpress.app_passwords.ApplicationPasswordBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_IP_FAILURE_LIMIT = env_int("LOGIN_IP_FAILURE_LIMIT", 20, minimum=1)
LOGIN_COOLOFF_SECONDS = env_int("LOGIN_COOLOFF_SECONDS", 900, minimum=1)
AXES_HANDLER = "webtier.throttle.ThrottleHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(seconds=LOGIN_COOLOFF_SECONDS)
AXES_CLIENT_IP_CALLABLE = "webtier.request.client_ip"
AXES_LOCKOUT_CALLABLE = "webtier.throttle.lockout_response"
AXES_USERNAME_FORM_FIELD = "username"
# A success must not wipe the address's count: an attacker with an account of their own
# would sign in between guesses to start again.
AXES_RESET_ON_SUCCESS = False
# Every login is not worth a row: the failures are what the admin needs.
AXES_DISABLE_ACCESS_LOG = True
# Django REST framework serves /wp-json/ with its own classes (wordpress/api/views.py);
# nothing global is switched on for the rest of the site.
REST_FRAMEWORK = {
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
}
# CORS on /wp-json/ (and ?rest_route=, wordpress/apps.py) as WordPress sends it
# (rest_send_cors_headers): any origin is echoed, with credentials, since a cookie alone
# never authenticates the API (it also needs the page's X-WP-Nonce).
CORS_URLS_REGEX = r"^/wp-json/"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_CREDENTIALS = True
CORS_ALLOW_METHODS = ("OPTIONS", "GET", "POST", "PUT", "PATCH", "DELETE")
CORS_ALLOW_HEADERS = (
    "Authorization", "X-WP-Nonce", "Content-Disposition", "Content-MD5", "Content-Type",
)  # fmt: skip
CORS_EXPOSE_HEADERS = ("X-WP-Total", "X-WP-TotalPages", "Link")
# WordPress sends no Access-Control-Max-Age: a preflight is answered by the API's view
# (wordpress/api/cors.py), with the route's description and the caller's Allow.
CORS_PREFLIGHT_MAX_AGE = 0
LOGIN_URL = "blog:login"
LOGIN_REDIRECT_URL = "blog:profile"
LOGOUT_REDIRECT_URL = "blog:home"

# --- I18N -----------------------------------------------------------------
LANGUAGE_CODE = env_str("DJANGO_LANGUAGE_CODE", "en-us")
TIME_ZONE = env_str("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Media (media_store/; README "Media stores") ---
MEDIA_BACKEND = env_choice("MEDIA_BACKEND", "local", ("local", "efs", "ebs", "s3"))
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# With s3, an absolute URL (a CDN in front of the private bucket) becomes the custom domain.
MEDIA_URL = env_str("MEDIA_URL", "/media/")
MEDIA_S3_BUCKET = env_str("MEDIA_S3_BUCKET")
if MEDIA_BACKEND == "s3" and not MEDIA_S3_BUCKET:
    raise ImproperlyConfigured("MEDIA_BACKEND=s3 needs MEDIA_S3_BUCKET (the private media bucket)")
# efs refuses a MEDIA_ROOT that is not an NFS mount (media_store/checks.py) unless told
# that one machine stands in for EFS, as in the local cluster.
MEDIA_EFS_ALLOW_LOCAL = env_bool("MEDIA_EFS_ALLOW_LOCAL", False)
# "ha": several web instances; the ebs store (one instance's disk) is then refused.
DEPLOYMENT_MODE = env_choice("DEPLOYMENT_MODE", "single", ("single", "ha"))
MEDIA_MAX_BYTES = env_int("MEDIA_MAX_BYTES", 20_000_000, minimum=1)
MEDIA_MAX_PIXELS = env_int("MEDIA_MAX_PIXELS", 50_000_000, minimum=1)
MEDIA_MAX_FRAMES = env_int("MEDIA_MAX_FRAMES", 100, minimum=1)
# The wait, not the work (MEDIA_MAX_CPU_SECONDS bounds that): long enough that a real photo
# is not refused on a busy instance, short enough to answer before gunicorn's 30 s timeout.
MEDIA_MAX_SECONDS = env_int("MEDIA_MAX_SECONDS", 20, minimum=1)
# Work, not size (media_store/decode.py check_work, media_store/bounded.py): decoded bytes
# per file byte, the processing child's memory and CPU time, and images processed at once
# per instance.
MEDIA_MAX_RATIO = env_int("MEDIA_MAX_RATIO", 500, minimum=1)
MEDIA_MAX_MEMORY_MB = env_int("MEDIA_MAX_MEMORY_MB", 300, minimum=32)
MEDIA_MAX_CPU_SECONDS = env_int("MEDIA_MAX_CPU_SECONDS", 8, minimum=1)
MEDIA_UPLOAD_SLOTS = env_int("MEDIA_UPLOAD_SLOTS", 2, minimum=1)
STORAGES = {
    "default": {
        "BACKEND": (
            "media_store.stores.S3MediaStorage"
            if MEDIA_BACKEND == "s3"
            else "media_store.stores.AtomicFileSystemStorage"
        )
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Tasks and the worker tier (worker/) ----------------------------------------
# immediate: inline, after the enqueueing transaction commits; database: a queue in the
# database for one-instance deployments (django-tasks-db's db_worker runs it); sqs: one
# SQS message per task, run by the Beanstalk daemon posting to /worker/ or by run_worker.
TASKS_BACKEND = env_choice("TASKS_BACKEND", "immediate", ("immediate", "database", "sqs"))
# sqs: enqueue writes an outbox row in the request's transaction and a background thread
# sends it (worker/outbox.py); rows unsent after RESEND_AFTER seconds are resent by the
# sweeper; on exit a process gives its sender DRAIN_SECONDS. false: SendMessage inline.
WORKER_OUTBOX = env_bool("WORKER_OUTBOX", True)
WORKER_OUTBOX_RESEND_AFTER = env_int("WORKER_OUTBOX_RESEND_AFTER", 30, minimum=0)
WORKER_OUTBOX_DRAIN_SECONDS = env_int("WORKER_OUTBOX_DRAIN_SECONDS", 5, minimum=0)
WORKER_QUEUE_URL = env_str("WORKER_QUEUE_URL")
if TASKS_BACKEND == "sqs" and not WORKER_QUEUE_URL:
    raise ImproperlyConfigured("TASKS_BACKEND=sqs needs WORKER_QUEUE_URL (the SQS queue's URL)")
TASKS = {
    "default": {
        "BACKEND": {
            "immediate": "django_tasks.backends.immediate.ImmediateBackend",
            "database": "django_tasks_db.DatabaseBackend",
            "sqs": "worker.backends.SQSBackend",
        }[TASKS_BACKEND],
        "OPTIONS": (
            {"queue_url": WORKER_QUEUE_URL, "outbox": WORKER_OUTBOX}
            if TASKS_BACKEND == "sqs"
            else {}
        ),
    }
}
# /worker/ also wants this value in an X-Worker-Secret header (nginx adds it for the
# local daemon); unset, the loopback check alone guards the endpoint, so any process on
# the instance (or a request the app itself can be tricked into sending) could run jobs.
# Production with SQS refuses to start without it unless WORKER_ALLOW_NO_SECRET=true.
WORKER_SHARED_SECRET = env_secret("WORKER_SHARED_SECRET")
WORKER_ALLOW_NO_SECRET = env_bool("WORKER_ALLOW_NO_SECRET", False)
if not DEBUG and TASKS_BACKEND == "sqs" and not WORKER_SHARED_SECRET and not WORKER_ALLOW_NO_SECRET:
    raise ImproperlyConfigured(
        "WORKER_SHARED_SECRET must be set when DJANGO_DEBUG=false with TASKS_BACKEND=sqs: "
        "without it /worker/ runs jobs for any caller on the instance's loopback "
        "(WORKER_ALLOW_NO_SECRET=true accepts that)"
    )
# Seconds a job may run. Keep the chain: sqsd InactivityTimeout > nginx proxy_read_timeout
# > GUNICORN_TIMEOUT > this (README, "The worker tier").
WORKER_TASK_TIME_LIMIT = env_int("WORKER_TASK_TIME_LIMIT", 240, minimum=1)
# run_worker: jobs at once, long-poll wait, and how soon a failed job is offered again
# (sqsd's ErrorVisibilityTimeout is 2 s).
WORKER_CONCURRENCY = env_int("WORKER_CONCURRENCY", 2, minimum=1)
WORKER_POLL_SECONDS = env_int("WORKER_POLL_SECONDS", 20, minimum=0)
WORKER_RETRY_DELAY = env_int("WORKER_RETRY_DELAY", 2, minimum=0)
# A worker instance's /readyz fails when the queue cannot be reached.
WORKER_INSTANCE = env_bool("WORKER_INSTANCE", False)
# AWS_REGION and AWS_ENDPOINT_URL are read where the clients are made (awsenv/).

# --- Blog behaviour -------------------------------------------------------
POSTS_PER_PAGE = env_int("POSTS_PER_PAGE", 10, minimum=1)
COMMENT_THREAD_DEPTH = env_int("COMMENT_THREAD_DEPTH", 5, minimum=1)
COMMENT_MAX_LINKS = env_int("COMMENT_MAX_LINKS", 2, minimum=0)
COMMENT_RATE_LIMIT = env_int("COMMENT_RATE_LIMIT", 5, minimum=1)
COMMENT_RATE_WINDOW = env_int("COMMENT_RATE_WINDOW", 60, minimum=1)
TRASH_DAYS = env_int("TRASH_DAYS", 30, minimum=1)
# How many proxies (ALB, nginx) append to X-Forwarded-For in front of gunicorn.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- Security (production values when DEBUG is off) -----------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# The ALB health check speaks plain HTTP to the instance: never redirect it.
# Nor the Beanstalk daemon, which posts plain HTTP to localhost: a redirect is not a 200,
# so every job would be retried until it reached the dead-letter queue.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^worker/$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("DJANGO_BEHIND_TLS_PROXY", not DEBUG):
    # TLS ends at the load balancer, which says so in X-Forwarded-Proto.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy on every response (django-csp; README "Content-Security-Policy").
# Scripts only from our origin or with the request's nonce (`{{ request.csp_nonce }}`), never
# inline; <style> elements from our origin, style attributes allowed (authors' sanitized
# `style`, the admin's widgets); images, audio and video also from https (a CDN, S3,
# authors' images); iframes only https (editors' embeds). CSP_REPORT_ONLY=true sends the
# same policy as Content-Security-Policy-Report-Only, to try a change without breaking.
# (Not named CSP_*: django-csp's check takes such settings for its old format.)
_csp_report_uri = env_str("CSP_REPORT_URI")
_CSP = {
    "DIRECTIVES": {
        "default-src": [csp.SELF],
        "script-src": [csp.SELF, csp.NONCE],
        "style-src": [csp.SELF],
        "style-src-attr": [csp.UNSAFE_INLINE],
        "img-src": [csp.SELF, "data:", "https:"],
        "media-src": [csp.SELF, "https:"],
        "font-src": [csp.SELF],
        "connect-src": [csp.SELF],
        "frame-src": ["https:"],
        "object-src": [csp.NONE],
        "base-uri": [csp.SELF],
        "form-action": [csp.SELF],
        "frame-ancestors": [csp.NONE],
        **({"report-uri": _csp_report_uri} if _csp_report_uri else {}),
    }
}
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# The folder of django.core.mail.backends.filebased.EmailBackend (the local cluster's mail).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "cloudblog@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
    },
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
