"""SCIM discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas; each is
authenticated like the rest of the endpoint, and lists carry totalResults."""

from django_scim.schemas import default_schemas_getter

from lumoauth.urls_public import base_url

from .errors import scim_error

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _base(request) -> str:
    return f"{base_url(request)}/t/{request.tenant.slug}/scim/v2"


def service_provider_config(request) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": 200},
        "changePassword": {"supported": False},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "primary": True,
                "description": "A SCIM token created by an administrator of this organization.",
            }
        ],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{_base(request)}/ServiceProviderConfig"},
    }


def resource_types(request) -> list[dict]:
    base = _base(request)
    return [
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": False}],
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/User"},
        },
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/Group"},
        },
    ]


def schemas(request) -> list[dict]:
    base = _base(request)
    found = []
    for schema in default_schemas_getter():
        if schema.get("id") in (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_SCHEMA):
            found.append({**schema, "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{schema['id']}"}})
    return found


def list_or_one(items: list[dict], wanted: str | None):
    """A ListResponse of all `items`, or the one whose id is `wanted` (404 if none)."""
    if wanted is None:
        return {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(items),
            "itemsPerPage": len(items),
            "startIndex": 1,
            "Resources": items,
        }
    for item in items:
        if item["id"] == wanted:
            return item
    return scim_error(404, f"{wanted} not found.")
