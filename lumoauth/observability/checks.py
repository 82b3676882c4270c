"""System checks for the observability and rate-limit settings (registered by the app config)."""

import ipaddress

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security)
def check_metrics_networks(app_configs=None, **kwargs) -> list:
    errors = []
    for network in getattr(settings, "LUMOAUTH_METRICS_ALLOWED_NETWORKS", []):
        try:
            ipaddress.ip_network(network.strip(), strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"LUMOAUTH_METRICS_ALLOWED_NETWORKS: {network!r} is not a network.",
                    hint="A comma-separated list such as 127.0.0.0/8,::1/128,10.0.0.0/8.",
                    id="lumoauth.E010",
                )
            )
    return errors


@register()
def check_rate_limits(app_configs=None, **kwargs) -> list:
    from lumoauth.ratelimit import SCOPES, parse_rate

    configured = getattr(settings, "LUMOAUTH_RATE_LIMITS", {})
    if not isinstance(configured, dict):
        return [Error("LUMOAUTH_RATE_LIMITS must be a JSON object.", id="lumoauth.E011")]
    errors = []
    for name, text in configured.items():
        problem = None if name in SCOPES or name == "*" else f"unknown scope (known: {', '.join(SCOPES)}, *)"
        if problem is None:
            try:
                parse_rate(str(text))
            except ValueError as exc:
                problem = str(exc)
        if problem:
            errors.append(Error(f"LUMOAUTH_RATE_LIMITS[{name!r}]: {problem}", id="lumoauth.E011"))
    return errors
