"""GitHub sign-in: OAuth 2.0 without OpenID Connect, so who signed in comes from its REST API.

GET /user gives the stable numeric id (the subject; the login can be renamed) and the profile;
GET /user/emails gives the addresses with their `verified` and `primary` flags. Only the primary,
verified address becomes the email, marked verified; the profile's public email is never used.
"""

from .provider_http import ProviderError, get_json, get_json_value

ACCEPT = "application/vnd.github+json"


def emails_url(user_url: str) -> str:
    return user_url.rstrip("/") + "/emails"


def primary_verified_email(entries) -> str | None:
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("primary") is True and entry.get("verified") is True:
            email = entry.get("email")
            if isinstance(email, str) and "@" in email:
                return email.strip()
    return None


def github_claims(user_url: str, access_token: str) -> tuple[str, dict]:
    """(subject, claims) of the GitHub account the access token belongs to."""
    user = get_json(user_url, "userinfo", bearer=access_token, accept=ACCEPT)
    account_id = user.get("id")
    if isinstance(account_id, bool) or not isinstance(account_id, int | str) or not str(account_id).strip():
        raise ProviderError("userinfo_no_subject", "GitHub did not say which account signed in.")
    claims = {k: v for k, v in user.items() if k not in ("email", "email_verified")}
    try:
        email = primary_verified_email(
            get_json_value(emails_url(user_url), "emails", bearer=access_token, accept=ACCEPT)
        )
    except ProviderError:
        email = None  # without the user:email scope: no email rather than an unverified one
    if email:
        claims.update(email=email, email_verified=True)
    return str(account_id).strip(), claims
