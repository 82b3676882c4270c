"""Parameters of a token request as sent: django-oauth-toolkit hands oauthlib one value per name,
so repeated parameters are only visible on the Django request."""

from oauthlib.oauth2.rfc6749 import errors


def refuse_duplicates(request_validator, request, names) -> None:
    """RFC 6749 §3.2: request parameters MUST NOT be included more than once."""
    django_request = request_validator.django_request(request)
    for name in names:
        if django_request is not None and len(django_request.POST.getlist(name)) > 1:
            raise errors.InvalidRequestError(description=f"Duplicate {name} parameter.", request=request)
