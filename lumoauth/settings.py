"""LumoAuth settings: one module, every deployment choice read from the environment.

Embedded defaults (no variables set): SQLite under var/, local-memory cache, Celery tasks run
in-process, DEBUG off, a secret key generated once into var/secret_key. Production sets at least
SECRET_KEY, ALLOWED_HOSTS, LUMOAUTH_BASE_URL, DATABASE_URL and REDIS_URL (see README).
"""

import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab

from lumoauth.observability.logs import default_log_format, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LUMOAUTH_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _development_secret_key() -> str:
    """A random key kept in var/ so sessions survive restarts of a local install."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = env_bool("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY") or _development_secret_key()

# The public origin used in issuers and metadata. Empty: each request's own origin.
LUMOAUTH_BASE_URL = os.environ.get("LUMOAUTH_BASE_URL", "").rstrip("/")
_BASE = urlsplit(LUMOAUTH_BASE_URL) if LUMOAUTH_BASE_URL else None

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS",
    [_BASE.hostname] if _BASE and _BASE.hostname else ["127.0.0.1", "localhost", "[::1]"],
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"{_BASE.scheme}://{_BASE.netloc}"] if _BASE else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "oauth2_provider",
    "lumoauth.events",
    "lumoauth.observability",
    "lumoauth.webhooks",
    "lumoauth.retention",
    "tenants",
    "oauth",
    "saml",
    "scim",
    "portal",
]

MIDDLEWARE = [
    # Outermost: the request ID, the access log line and the request metrics (docs/observability.md).
    "lumoauth.observability.middleware.RequestObservabilityMiddleware",
    # /healthz, /readyz, /metrics answered to any Host and over plain HTTP (probes use the instance's address).
    "lumoauth.observability.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "lumoauth.middleware.RejectNulBytesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Resolves request.tenant from the URL and makes request.user that tenant's user; it runs
    # before CSRF so an unknown tenant is a 404 whatever the request carries.
    "tenants.middleware.TenantMiddleware",
    # Per-tenant rate limits by route name (docs/rate-limits.md); needs request.tenant, runs before CSRF.
    "lumoauth.ratelimit.RateLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "lumoauth.urls"
WSGI_APPLICATION = "lumoauth.wsgi.application"

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
                "tenants.context_processors.tenant",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'lumoauth.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the dev server read while a write is in progress.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = ["tenants.backends.DirectoryBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",  # user passwords
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    # Client secrets are 256-bit random values: a keyed fast hash, not a password hash (DESIGN.md).
    "oauth.client_secrets.HMACClientSecretHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Usernames are unique per tenant, not globally; DirectoryBackend scopes every lookup.
SILENCED_SYSTEM_CHECKS = [
    "auth.W004",
    # PKCE is required per client - always for public clients (RFC 9700 §2.1.1) - by
    # oauth.server.validator.is_pkce_required, not by DOT's global PKCE_REQUIRED switch.
    "oauth2_provider.W010",
]

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "lumoauth"),
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    # No broker configured: tasks run in-process so the embedded default needs no services.
    CELERY_TASK_ALWAYS_EAGER = True
    CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

SESSION_COOKIE_NAME = "lumoauth_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(12 * 3600)))
CSRF_COOKIE_NAME = "lumoauth_csrftoken"
CSRF_FAILURE_VIEW = "lumoauth.errors.csrf_failure"

# Transport security follows the public origin: an https base URL turns it all on.
_HTTPS = bool(_BASE and _BASE.scheme == "https")
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000" if _HTTPS else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env_bool("USE_X_FORWARDED_PROTO"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Health checks from the load balancer arrive over plain HTTP (and /healthz, /readyz, /metrics are
# answered before this redirect anyway: lumoauth.observability.middleware.ProbeMiddleware).
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(2 * 1024 * 1024)))
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it to exist
# Without collectstatic (local runs, tests) WhiteNoise serves straight from the finders.
WHITENOISE_USE_FINDERS = True

# OAuth 2.0 / OpenID Connect on django-oauth-toolkit, with tenant-owned swapped models.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth.Client"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth.Grant"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth.DeviceGrant"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_SERVER_CLASS": "oauth.server.oauthlib_server.TenantServer",
    "OAUTH2_VALIDATOR_CLASS": "oauth.server.validator.TenantOAuth2Validator",
    "OAUTH2_BACKEND_CLASS": "oauth.server.core.TenantOAuthLibCore",
    "SCOPES_BACKEND_CLASS": "oauth.scopes.TenantScopes",
    "SCOPES": {"openid": "Sign you in"},  # the real catalogue is per tenant (oauth.scopes)
    "ACCESS_TOKEN_GENERATOR": "oauth.tokens.access_tokens.generate_access_token",
    "REFRESH_TOKEN_GENERATOR": "oauthlib.oauth2.rfc6749.tokens.random_token_generator",
    "CLIENT_SECRET_HASHER": "lumoauth_hmac_sha256",
    # RFC 6749 §4.1.2: codes are short-lived; 10 minutes is the maximum it recommends.
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600,
    "ROTATE_REFRESH_TOKEN": True,
    # RFC 9700 §4.14.2: a refresh token used twice revokes its whole family.
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "PKCE_REQUIRED": False,  # decided per client in the validator: required for public clients
    # http redirect URIs are accepted for loopback hosts only (RFC 8252 §7.3), per client:
    # oauth.models.Client.get_allowed_schemes and oauth.services.clients.check_consistency.
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
}

# Pushed authorization requests (RFC 9126): seconds a request_uri is valid until first used (60-600).
LUMOAUTH_PAR_LIFETIME = int(os.environ.get("LUMOAUTH_PAR_LIFETIME", "90"))
# Device authorization grant (RFC 8628): lifetime of device and user codes, the polling interval,
# and wrong user codes allowed per signed-in account and per client IP within the sign-in window.
LUMOAUTH_DEVICE_CODE_LIFETIME = int(os.environ.get("LUMOAUTH_DEVICE_CODE_LIFETIME", "600"))
LUMOAUTH_DEVICE_POLL_INTERVAL = int(os.environ.get("LUMOAUTH_DEVICE_POLL_INTERVAL", "5"))
LUMOAUTH_DEVICE_CODE_MAX_FAILURES_PER_ACCOUNT = int(
    os.environ.get("LUMOAUTH_DEVICE_CODE_MAX_FAILURES_PER_ACCOUNT", "5")
)
LUMOAUTH_DEVICE_CODE_MAX_FAILURES_PER_IP = int(os.environ.get("LUMOAUTH_DEVICE_CODE_MAX_FAILURES_PER_IP", "20"))
# CIBA (OpenID CIBA Core 1.0): seconds an auth_req_id lives when the client asks for nothing, the
# most it may ask for (requested_expiry), and the polling interval.
LUMOAUTH_CIBA_DEFAULT_EXPIRY = int(os.environ.get("LUMOAUTH_CIBA_DEFAULT_EXPIRY", "300"))
LUMOAUTH_CIBA_MAX_EXPIRY = int(os.environ.get("LUMOAUTH_CIBA_MAX_EXPIRY", "1800"))
LUMOAUTH_CIBA_POLL_INTERVAL = int(os.environ.get("LUMOAUTH_CIBA_POLL_INTERVAL", "5"))

# SCIM 2.0 on django-scim2: our own adapters, views and bearer-token check (scim/).
SCIM_SERVICE_PROVIDER = {
    "AUTH_CHECK_MIDDLEWARE": "scim.auth.SCIMTokenAuthCheck",
    "USER_ADAPTER": "scim.users.TenantSCIMUser",
    "NETLOC": "localhost",  # locations are built from LUMOAUTH_BASE_URL by our adapters
    "AUTHENTICATION_SCHEMES": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A SCIM token created by a tenant administrator",
            "primary": True,
        },
    ],
}

# Sign-in throttling: failures counted per account and per client IP in the cache.
LUMOAUTH_SIGNIN_MAX_FAILURES_PER_ACCOUNT = int(os.environ.get("LUMOAUTH_SIGNIN_MAX_FAILURES_PER_ACCOUNT", "5"))
LUMOAUTH_SIGNIN_MAX_FAILURES_PER_IP = int(os.environ.get("LUMOAUTH_SIGNIN_MAX_FAILURES_PER_IP", "20"))
LUMOAUTH_SIGNIN_FAILURE_WINDOW = int(os.environ.get("LUMOAUTH_SIGNIN_FAILURE_WINDOW", "900"))
# Trust X-Forwarded-For from this many proxies in front of the app (0: use REMOTE_ADDR).
LUMOAUTH_TRUSTED_PROXY_COUNT = int(os.environ.get("LUMOAUTH_TRUSTED_PROXY_COUNT", "0"))

# Rate limits (docs/rate-limits.md): JSON over the platform defaults, e.g. {"token": "300/min", "scim": "off"};
# tenant admins may tighten theirs, or loosen them up to CEILING times the platform's rate.
LUMOAUTH_RATE_LIMITS = json.loads(os.environ.get("LUMOAUTH_RATE_LIMITS") or "{}")
LUMOAUTH_RATE_LIMIT_TENANT_CEILING = float(os.environ.get("LUMOAUTH_RATE_LIMIT_TENANT_CEILING", "10"))
LUMOAUTH_TENANT_RATE_LIMITS = "tenants.policy.tenant_rate_limits"  # a tenant's overrides (kernel imports no app)

# Observability (docs/observability.md). /metrics: loopback by default, other networks or a bearer token.
_METRICS_NETWORKS = env_list("LUMOAUTH_METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])
LUMOAUTH_METRICS_ALLOWED_NETWORKS = [] if _METRICS_NETWORKS == ["none"] else _METRICS_NETWORKS  # none: token only
LUMOAUTH_METRICS_TOKEN = os.environ.get("LUMOAUTH_METRICS_TOKEN", "")
LUMOAUTH_METRICS_TENANT_LABEL = env_bool("LUMOAUTH_METRICS_TENANT_LABEL", True)
# Take X-Request-ID from the incoming request (set by a trusted proxy) instead of generating one.
LUMOAUTH_TRUST_REQUEST_ID = env_bool("LUMOAUTH_TRUST_REQUEST_ID", LUMOAUTH_TRUSTED_PROXY_COUNT > 0)

# Per-tenant signing keys (docs/signing-keys.md). The key-encryption key protects the private keys
# at rest: url-safe base64 of 32 bytes. Unset, it is derived from SECRET_KEY (development only;
# `check --deploy` warns, lumoauth.W001).
LUMOAUTH_KEY_ENCRYPTION_KEY = os.environ.get("LUMOAUTH_KEY_ENCRYPTION_KEY", "")
# The longest lifetime, in seconds, of anything a signing key signs (tokens are capped at it): a
# retired key stays published this long after it stops signing.
LUMOAUTH_SIGNED_TOKEN_MAX_LIFETIME = int(os.environ.get("LUMOAUTH_SIGNED_TOKEN_MAX_LIFETIME", "86400"))

# Outbound HTTP to tenant-configured URLs (webhooks, jwks_uri, SAML metadata; lumoauth/outbound.py):
# loopback, private, link-local and other non-public addresses are refused unless this is on.
LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = env_bool("LUMOAUTH_OUTBOUND_ALLOW_PRIVATE")
# Domain verification for home-realm discovery (docs/federation.md): DNS servers to ask for the TXT
# records ("ip" or "ip:port", comma-separated; unset: the system's resolver) and the lookup timeout.
LUMOAUTH_DNS_NAMESERVERS = env_list("LUMOAUTH_DNS_NAMESERVERS", [])
LUMOAUTH_DNS_TIMEOUT = float(os.environ.get("LUMOAUTH_DNS_TIMEOUT", "5"))
# Webhook delivery (docs/webhooks.md): seconds per attempt (connect, read, whole body), the delays
# between attempts (jittered; after the last one the delivery is failed), the sweep's period, and how
# long a queued delivery may wait before the sweep queues it again.
LUMOAUTH_WEBHOOK_TIMEOUT = float(os.environ.get("LUMOAUTH_WEBHOOK_TIMEOUT", "10"))
LUMOAUTH_WEBHOOK_RETRY_SCHEDULE = [
    float(s) for s in env_list("LUMOAUTH_WEBHOOK_RETRY_SCHEDULE", "5,30,120,600,1800,3600,10800,21600,43200".split(","))
]
LUMOAUTH_WEBHOOK_SWEEP_INTERVAL = float(os.environ.get("LUMOAUTH_WEBHOOK_SWEEP_INTERVAL", "60"))
LUMOAUTH_WEBHOOK_REQUEUE_AFTER = float(os.environ.get("LUMOAUTH_WEBHOOK_REQUEUE_AFTER", "300"))
# Retention (lumoauth/retention/, docs/architecture.md): the daily purge keeps finished webhook
# deliveries this many days after their last attempt, ended sign-in sessions this many days after they
# ended (idle open ones SESSION_COOKIE_AGE longer), and expired codes, tokens, device, CIBA and PAR rows
# this many hours past their expiry; it deletes this many rows per transaction, at this hour (UTC).
LUMOAUTH_RETENTION_WEBHOOK_DAYS = int(os.environ.get("LUMOAUTH_RETENTION_WEBHOOK_DAYS", "30"))
LUMOAUTH_RETENTION_SESSION_DAYS = int(os.environ.get("LUMOAUTH_RETENTION_SESSION_DAYS", "7"))
LUMOAUTH_RETENTION_GRACE_HOURS = int(os.environ.get("LUMOAUTH_RETENTION_GRACE_HOURS", "24"))
LUMOAUTH_RETENTION_BATCH_SIZE = int(os.environ.get("LUMOAUTH_RETENTION_BATCH_SIZE", "1000"))
LUMOAUTH_RETENTION_HOUR = int(os.environ.get("LUMOAUTH_RETENTION_HOUR", "3"))
CELERY_BEAT_SCHEDULE = {
    "webhooks-sweep": {"task": "lumoauth.webhooks.sweep", "schedule": LUMOAUTH_WEBHOOK_SWEEP_INTERVAL},
    "retention-purge": {
        "task": "lumoauth.retention.purge",
        "schedule": crontab(minute=17, hour=LUMOAUTH_RETENTION_HOUR),
    },
}

# Email (notifications): SMTP when EMAIL_HOST is set, else printed to the console (development).
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "LumoAuth <no-reply@localhost>")

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# LOG_FORMAT=json|text, to stdout, each record with its request_id; unset: JSON unless DEBUG or a terminal.
LOG_FORMAT = os.environ.get("LOG_FORMAT") or default_log_format(DEBUG)
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)
