"""Dynamic client registration endpoint (RFC 7591 §3) and client configuration endpoint (RFC 7592)."""

import json

from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..issuer import issuer_for
from ..services import registration as dcr


def _bearer(request) -> str:
    scheme, _, token = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _json(document: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(document, status=status)
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _unauthorized(description: str) -> JsonResponse:
    response = _json({"error": "invalid_token", "error_description": description}, status=401)
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _metadata(request) -> dict:
    if request.content_type != "application/json":
        raise dcr.RegistrationError("invalid_client_metadata", "Send the metadata as application/json.")
    try:
        return json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise dcr.RegistrationError("invalid_client_metadata", "The body is not valid JSON.") from exc


def _error(error: dcr.RegistrationError) -> JsonResponse:
    return _json({"error": error.error, "error_description": error.description}, status=400)


@method_decorator(csrf_exempt, name="dispatch")
class RegisterView(View):
    http_method_names = ["post"]

    def post(self, request):
        initial = dcr.find_initial_access_token(request.tenant, _bearer(request))
        if initial is None:
            return _unauthorized("A valid initial access token is required to register a client.")
        try:
            client, secret, registration_token = dcr.register_client(
                request.tenant, initial, _metadata(request), request=request
            )
        except dcr.RegistrationError as error:
            return _error(error)
        info = dcr.client_information(
            client, issuer_for(request.tenant, request), secret=secret, registration_token=registration_token
        )
        return _json(info, status=201)


@method_decorator(csrf_exempt, name="dispatch")
class ClientConfigurationView(View):
    http_method_names = ["get", "put", "delete"]

    def dispatch(self, request, client_id):
        # RFC 7592 §2: an unknown client and a wrong token answer the same 401.
        self.client = dcr.find_registered_client(request.tenant, client_id, _bearer(request))
        if self.client is None:
            return _unauthorized("Unknown client or wrong registration access token.")
        return super().dispatch(request, client_id)

    def get(self, request, client_id):
        return _json(dcr.client_information(self.client, issuer_for(request.tenant, request)))

    def put(self, request, client_id):
        try:
            client, _secret, token = dcr.update_registration(self.client, _metadata(request), request=request)
        except dcr.RegistrationError as error:
            return _error(error)
        return _json(dcr.client_information(client, issuer_for(request.tenant, request), registration_token=token))

    def delete(self, request, client_id):
        dcr.delete_registration(self.client, request=request)
        return HttpResponse(status=204)
