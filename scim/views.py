"""The tenant's SCIM 2.0 endpoint on django-scim2's views, scoped to the tenant of the URL.

Listing and filtering are ours: django-scim2's default filter is raw SQL for PostgreSQL, so filters
go through scim2-filter-parser's Django Q-object transpiler (portable to SQLite) on a queryset that is
always filtered by tenant, and pagination and counting happen in the database.
"""

import json
import uuid

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django_scim import exceptions
from django_scim.views import GroupsView as DjangoSCIMGroupsView
from django_scim.views import UsersView as DjangoSCIMUsersView
from scim2_filter_parser.transpilers.django_q_object import get_query

from tenants.models import Group, User

from . import discovery
from .auth import SCIMTokenAuthCheck
from .errors import SCIM_CONTENT_TYPE, scim_error
from .groups import ATTRIBUTES as GROUP_ATTRIBUTES
from .groups import TenantSCIMGroup
from .users import ATTRIBUTES as USER_ATTRIBUTES
from .users import TenantSCIMUser

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
MAX_COUNT = 200


def _json(document: dict, status: int = 200, location: str | None = None) -> HttpResponse:
    response = HttpResponse(json.dumps(document), status=status, content_type=SCIM_CONTENT_TYPE)
    if location:
        response["Location"] = location
    return response


def _projected(resource: dict, attributes: list[str], excluded: list[str]) -> dict:
    """RFC 7643 §7 / RFC 7644 §3.4.2.5: `id`, `schemas` and `meta` are always returned."""
    always = {"id", "schemas", "meta"}
    if attributes:
        wanted = {a.split(".")[0].lower() for a in attributes}
        resource = {k: v for k, v in resource.items() if k in always or k.lower() in wanted}
    if excluded:
        dropped = {a.split(".")[0].lower() for a in excluded}
        resource = {k: v for k, v in resource.items() if k in always or k.lower() not in dropped}
    return resource


def _names(request, key: str) -> list[str]:
    return [a.strip() for a in request.GET.get(key, "").split(",") if a.strip()]


class ResourceView:
    """What the Users and Groups endpoints share: tenant scoping, lookup by public id, listing."""

    adapter_class = None
    model = None
    id_field = ""
    attributes: dict = {}
    default_ordering = ("pk",)

    def scim_adapter(self, obj, request=None):  # django-scim2 calls it like a class
        adapter = self.adapter_class(obj, request=request)
        if hasattr(adapter, "include_members"):
            adapter.include_members = "members" not in {a.lower() for a in _names(self.request, "excludedAttributes")}
        return adapter

    def queryset(self):
        return self.model.objects.filter(tenant=self.request.tenant)

    def _find(self):
        value = self.kwargs.get("uuid")
        try:
            public_id = uuid.UUID(str(value))
        except ValueError as exc:
            raise exceptions.NotFoundError(value) from exc
        found = self.queryset().filter(**{self.id_field: public_id}).first()
        if found is None:  # unknown, or another tenant's: the same answer (RFC 7644 §3.12)
            raise exceptions.NotFoundError(value)
        return found

    @method_decorator(csrf_exempt)  # a bearer-token API; as_view() reads this from dispatch
    def dispatch(self, request, *args, **kwargs):
        # /.search (RFC 7644 §3.4.3): a POSTed SearchRequest is a GET with its parameters in the body.
        if request.method == "POST" and kwargs.get("uuid") == ".search":
            kwargs.pop("uuid")
            self.search_body = True
        return super().dispatch(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        if kwargs.get("uuid"):  # resources are created on the collection, never on an id
            raise exceptions.SCIMException("POST goes to the collection.", status=405)
        if getattr(self, "search_body", False):
            body = self.load_body(request.body)
            if not isinstance(body, dict) or body.get("schemas") != [SEARCH_REQUEST]:
                raise exceptions.BadRequestError("Expected a SearchRequest.", scim_type="invalidSyntax")
            params = request.GET.copy()
            for key in ("filter", "startIndex", "count", "sortBy", "sortOrder"):
                if key in body:
                    params[key] = str(body[key])
            for key in ("attributes", "excludedAttributes"):
                if isinstance(body.get(key), list):
                    params[key] = ",".join(str(a) for a in body[key])
            request.GET = params
            return self.get_many(request)
        return super().post(request, *args, **kwargs)

    def get_object(self):
        found = self._find()
        # RFC 7644 §3.14: If-Match with another version than the current one is 412.
        expected = self.request.META.get("HTTP_IF_MATCH")
        if expected and expected.strip() != "*" and self.request.method in ("PUT", "PATCH", "DELETE"):
            current = self.adapter_class(found, request=self.request).version
            if current not in [e.strip() for e in expected.split(",")]:
                raise exceptions.SCIMException("The resource has changed (ETag mismatch).", status=412)
        return found

    def get_single(self, request):
        adapter = self.scim_adapter(self.get_object(), request=request)
        response = _json(
            _projected(adapter.to_dict(), _names(request, "attributes"), _names(request, "excludedAttributes")),
            location=adapter.location,
        )
        response["ETag"] = adapter.version
        return response

    def get_many(self, request):
        queryset = self.queryset()
        scim_filter = request.GET.get("filter")
        if scim_filter:
            try:
                queryset = queryset.filter(get_query(scim_filter, self.attributes)).distinct()
            except Exception as exc:  # the parser raises several types for bad filters
                raise exceptions.BadRequestError(f"Invalid filter: {exc}", scim_type="invalidFilter") from exc
        queryset = queryset.order_by(*self._ordering(request))
        start, count = self._paging(request)
        total = queryset.count()
        page = list(queryset[start - 1 : start - 1 + count]) if count else []
        attributes, excluded = _names(request, "attributes"), _names(request, "excludedAttributes")
        resources = [_projected(self.scim_adapter(o, request=request).to_dict(), attributes, excluded) for o in page]
        return _json(
            {
                "schemas": [LIST_RESPONSE],
                "totalResults": total,
                "itemsPerPage": len(resources),
                "startIndex": start,
                "Resources": resources,
            }
        )

    @staticmethod
    def _paging(request) -> tuple[int, int]:
        """RFC 7644 §3.4.2.4: startIndex below 1 means 1; a negative count means 0."""
        try:
            start = max(1, int(request.GET.get("startIndex", 1)))
            count = max(0, min(MAX_COUNT, int(request.GET.get("count", 100))))
        except ValueError as exc:
            raise exceptions.BadRequestError("startIndex and count are integers.", scim_type="invalidValue") from exc
        return start, count

    def _ordering(self, request) -> list[str]:
        sort_by = request.GET.get("sortBy")
        if not sort_by:
            return list(self.default_ordering)
        # "name.familyName", possibly prefixed by its schema URN.
        parts = sort_by.rsplit(":", 1)[-1].split(".")
        key = (parts[0].lower(), parts[1].lower() if len(parts) > 1 else None, None)
        field = {(a.lower(), b.lower() if b else None, c): v for (a, b, c), v in self.attributes.items()}.get(key)
        if field is None or len(parts) > 2 or "__" in field:
            raise exceptions.BadRequestError(f"Cannot sort by {sort_by}.", scim_type="invalidValue")
        descending = request.GET.get("sortOrder", "ascending").lower() == "descending"
        return [f"-{field}" if descending else field, "pk"]


class UsersView(ResourceView, DjangoSCIMUsersView):
    adapter_class = TenantSCIMUser
    model = User
    id_field = "sub"
    attributes = USER_ATTRIBUTES
    default_ordering = ("date_joined", "pk")
    scim_adapter_getter = staticmethod(lambda: TenantSCIMUser)
    model_cls_getter = staticmethod(lambda: User)

    def queryset(self):
        return super().queryset().prefetch_related("directory_groups")


class GroupsView(ResourceView, DjangoSCIMGroupsView):
    adapter_class = TenantSCIMGroup
    model = Group
    id_field = "uid"
    attributes = GROUP_ATTRIBUTES
    default_ordering = ("created_at", "pk")
    scim_adapter_getter = staticmethod(lambda: TenantSCIMGroup)
    model_cls_getter = staticmethod(lambda: Group)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(SCIMTokenAuthCheck, name="dispatch")
class DiscoveryView(View):
    """ServiceProviderConfig, ResourceTypes[/<id>], Schemas[/<id>]."""

    http_method_names = ["get"]
    document = ""

    def get(self, request, uuid=None):
        if self.document == "config":
            return _json(discovery.service_provider_config(request))
        items = discovery.resource_types(request) if self.document == "types" else discovery.schemas(request)
        found = discovery.list_or_one(items, uuid)
        return found if isinstance(found, HttpResponse) else _json(found)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(SCIMTokenAuthCheck, name="dispatch")
class NotFoundView(View):
    """Anything else under /scim/v2/: a 404 in the SCIM error schema."""

    def dispatch(self, request, *args, **kwargs):
        return scim_error(404, "There is no such SCIM resource.")


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(SCIMTokenAuthCheck, name="dispatch")
class MeView(View):
    """RFC 7644 §3.11: a SCIM token stands for a provisioning client, not a user, so /Me is not
    supported - answered with 501 as the RFC asks."""

    def dispatch(self, request, *args, **kwargs):
        return scim_error(501, "/Me is not supported: SCIM tokens belong to provisioning clients, not users.")
