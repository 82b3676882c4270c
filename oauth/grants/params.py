"""Parameters of a token request as sent: django-oauth-toolkit hands oauthlib one value per name,
so repeated parameters are only visible on the Django request."""

from oauthlib.oauth2.rfc6749 import errors


def refuse_repeated(post, names) -> None:
    """RFC 6749 §3.1, §3.2: request parameters MUST NOT be included more than once (`post` is the
    Django request's QueryDict)."""
    for name in names:
        if len(post.getlist(name)) > 1:
            raise errors.InvalidRequestError(description=f"Duplicate {name} parameter.")


def refuse_duplicates(request_validator, request, names) -> None:
    """The same at the token endpoint, from the oauthlib request."""
    django_request = request_validator.django_request(request)
    if django_request is not None:
        refuse_repeated(django_request.POST, names)
