"""Request hygiene shared by every endpoint."""

from .errors import error_response


class RejectNulBytesMiddleware:
    """No parameter of ours may contain a NUL character; PostgreSQL text cannot even store one.
    Refusing them here answers 400 before any query could fail on them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            "\x00" in request.path
            or self._has_nul(request.GET)
            or (
                request.method == "POST"
                and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
                and self._has_nul(request.POST)
            )
        ):
            return error_response(request, 400, "The request contains a NUL character.")
        return self.get_response(request)

    @staticmethod
    def _has_nul(params) -> bool:
        return any("\x00" in key or any("\x00" in value for value in params.getlist(key)) for key in params)
