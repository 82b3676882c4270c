"""System checks for the key-encryption key (registered when tenants.signing_keys.models loads)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from lumoauth.encryption import parse_key_encryption_key

GENERATE_HINT = (
    'Generate one with: python -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())" '
    "and keep it apart from the database backups."
)


@register(Tags.security, deploy=True)
def check_key_encryption_key_is_set(app_configs=None, **kwargs) -> list:
    if getattr(settings, "LUMOAUTH_KEY_ENCRYPTION_KEY", None):
        return []
    return [
        Warning(
            "LUMOAUTH_KEY_ENCRYPTION_KEY is not set: tenants' private signing keys are encrypted under a key "
            "derived from SECRET_KEY, so rotating SECRET_KEY would make them unreadable.",
            hint=GENERATE_HINT,
            id="lumoauth.W001",
        )
    ]


@register(Tags.security)
def check_key_encryption_key_is_valid(app_configs=None, **kwargs) -> list:
    # Not deploy-only: a malformed KEK would otherwise surface at the first token a tenant signs.
    value = getattr(settings, "LUMOAUTH_KEY_ENCRYPTION_KEY", None)
    if not value:
        return []
    try:
        parse_key_encryption_key(value)
    except ImproperlyConfigured as exc:
        return [Error(str(exc), hint=GENERATE_HINT, id="lumoauth.E001")]
    return []
