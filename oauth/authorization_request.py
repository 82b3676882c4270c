"""Parameters of an authorization request beyond what oauthlib checks (OIDC Core §3.1.2.1), shared
by the authorization endpoint and the pushed authorization request endpoint."""

from collections.abc import Mapping

from oauthlib.oauth2.rfc6749 import errors

PROMPT_VALUES = {"none", "login", "consent", "select_account"}


def prompt_values(params: Mapping) -> set[str]:
    prompt = set((params.get("prompt") or "").split())
    if "none" in prompt and len(prompt) > 1:  # OIDC Core §3.1.2.1
        raise errors.InvalidRequestError(description="prompt=none cannot be combined with other values.")
    if prompt - PROMPT_VALUES:
        raise errors.InvalidRequestError(description="Unsupported prompt value.")
    return prompt


def max_age(params: Mapping) -> int | None:
    value = params.get("max_age")
    if value is None or value == "":
        return None
    if not str(value).isdigit() or len(str(value)) > 10:
        raise errors.InvalidRequestError(description="max_age must be a non-negative integer.")
    return int(value)
