"""Where the user decides on a CIBA request (CIBA Core §1: the authentication device): the page the
notification links to, and the approval API an app of the tenant calls for its signed-in user.

Only the user the request names may decide; to anyone else the request does not exist. The API
takes a bearer access token of that user carrying the `ciba:approve` scope, issued to another
client than the one asking (a client never approves its own request).
"""

import time
import uuid
from urllib.parse import urlencode

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from lumoauth.webhooks.rest.auth import TenantBearerAuthentication
from tenants.routing import tenant_url
from tenants.signin.session import authentication_info

from .. import scopes as scope_catalogue
from ..ciba import authentications
from ..scopes import CIBA_APPROVAL_SCOPE

DECISIONS = {"approve": True, "deny": False}


def _page(request, template: str, context: dict, status: int = 200):
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return response


def _mine(request, uid):
    """The request if it is the signed-in user's; else None (unknown, or someone else's)."""
    found = authentications.find(request.tenant, uid)
    return found if found is not None and found.user_id == request.user.pk else None


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def approval_view(request, uid):
    tenant, user = request.tenant, request.user
    if not user.is_authenticated:
        return HttpResponseRedirect(f"{tenant_url(request, 'login')}?{urlencode({'next': request.get_full_path()})}")
    authentication = _mine(request, uid)
    if authentication is None:
        return _page(request, "oauth/ciba_done.html", {"outcome": "unknown"}, status=404)
    client = authentication.client
    if not authentications.is_pending(authentication):
        return _page(request, "oauth/ciba_done.html", {"outcome": "closed", "client": client})
    decision = request.POST.get("decision") if request.method == "POST" else None
    if decision not in DECISIONS:
        context = {
            "client": client,
            "binding_message": authentication.binding_message,
            "scopes": scope_catalogue.describe(tenant, authentication.scope.split()),
            "account": user,
            "expires": authentication.expires,
        }
        return _page(request, "oauth/ciba_confirm.html", context, status=400 if request.method == "POST" else 200)
    allow = DECISIONS[decision]
    auth_info = authentication_info(request, tenant)
    if not authentications.decide(authentication, user, allow=allow, auth_info=auth_info, request=request):
        return _page(request, "oauth/ciba_done.html", {"outcome": "closed", "client": client})
    return _page(request, "oauth/ciba_done.html", {"outcome": "approved" if allow else "denied", "client": client})


# ---- the approval API ------------------------------------------------------------------------------
class ApprovalBearerAuthentication(TenantBearerAuthentication):
    www_authenticate_realm = "ciba"


class IsUserWithApprovalScope(BasePermission):
    message = f"The access token must be a user's, with the {CIBA_APPROVAL_SCOPE} scope."

    def has_permission(self, request, view) -> bool:
        user, token = request.user, request.auth
        return bool(
            getattr(user, "is_authenticated", False)
            and user.is_active
            and user.tenant_id == request.tenant.pk
            and token is not None
            and CIBA_APPROVAL_SCOPE in str(token.scope).split()
        )


class DecisionInput(serializers.Serializer):
    decision = serializers.ChoiceField(choices=sorted(DECISIONS))


def request_json(authentication) -> dict:
    client = authentication.client
    return {
        "id": str(authentication.uid),
        "client": {"client_id": client.client_id, "name": client.name or client.client_id},
        "binding_message": authentication.binding_message,
        "scope": authentication.scope,
        "status": authentications.state(authentication),
        "expires_at": authentication.expires.isoformat(),
    }


class ApprovalAPIView(APIView):
    authentication_classes = [ApprovalBearerAuthentication]
    permission_classes = [IsUserWithApprovalScope]
    renderer_classes = [JSONRenderer]
    parser_classes = [JSONParser]

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, exceptions.PermissionDenied):
            response["WWW-Authenticate"] = (  # RFC 6750 §3.1
                f'Bearer realm="ciba", error="insufficient_scope", scope="{CIBA_APPROVAL_SCOPE}"'
            )
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    def authentication(self, request, uid: str):
        try:
            uid = uuid.UUID(uid)
        except ValueError:
            raise exceptions.NotFound() from None
        found = _mine(request, uid)
        # A client may not answer for its own request with a token it holds for the user.
        if found is None or found.client_id == request.auth.application_id:
            raise exceptions.NotFound()
        return found


class PendingRequestsView(ApprovalAPIView):
    def get(self, request):
        own_client = request.auth.application_id
        pending = [a for a in authentications.pending_for(request.user) if a.client_id != own_client]
        return Response({"requests": [request_json(a) for a in pending]})


class RequestDecisionView(ApprovalAPIView):
    def get(self, request, uid: str):
        return Response(request_json(self.authentication(request, uid)))

    def post(self, request, uid: str):
        authentication = self.authentication(request, uid)
        decision = DecisionInput(data=request.data)
        decision.is_valid(raise_exception=True)
        allow = DECISIONS[decision.validated_data["decision"]]
        # The user answered in an app where they are signed in: a test of presence now (RFC 8176 "user").
        auth_info = {"auth_time": int(time.time()), "amr": ["user"]}
        if not authentications.decide(authentication, request.user, allow=allow, auth_info=auth_info, request=request):
            raise exceptions.ValidationError({"decision": "The request was already answered or has expired."})
        authentication.refresh_from_db()
        return Response(request_json(authentication))
