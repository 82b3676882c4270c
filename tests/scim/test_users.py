"""SCIM Users over real HTTP: what Okta and Entra ID send, filters, paging, PATCH, errors, isolation."""

import pytest
import requests

from lumoauth.events.models import AuditEvent
from scim.tokens import create_scim_token, revoke_scim_token
from tenants.models import User

pytestmark = pytest.mark.django_db(transaction=True)
SCIM = "application/scim+json"


@pytest.fixture
def scim(live_server, tenant):
    saved, token = create_scim_token(tenant, label="okta")
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": SCIM, "Accept": SCIM})
    session.base = f"{live_server.url}/t/acme/scim/v2"
    session.token = saved
    return session


def okta_user(user_name="jdoe@acme.example", given="John", family="Doe", external_id="00u1"):
    """The body Okta sends to create a user (its documented shape)."""
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": f"{given} {family}",
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": "ignored-by-us-1234",
        "active": True,
    }


def test_create_read_replace_delete(scim, tenant):
    created = scim.post(f"{scim.base}/Users", json=okta_user())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["userName"] == "jdoe@acme.example" and body["name"]["givenName"] == "John"
    assert body["externalId"] == "00u1" and body["active"] is True and body["meta"]["resourceType"] == "User"
    assert created.headers["Location"] == body["meta"]["location"] == f"{scim.base}/Users/{body['id']}"
    user = User.objects.get(tenant=tenant, username="jdoe@acme.example")
    assert str(user.sub) == body["id"] and not user.has_usable_password()

    read = scim.get(f"{scim.base}/Users/{body['id']}")
    assert read.status_code == 200 and read.headers["ETag"] == read.json()["meta"]["version"]

    replaced = scim.put(f"{scim.base}/Users/{body['id']}", json=okta_user(given="Johnny", external_id="00u1"))
    assert replaced.status_code == 200 and replaced.json()["name"]["givenName"] == "Johnny"
    assert replaced.json()["meta"]["version"] != read.json()["meta"]["version"]

    assert scim.delete(f"{scim.base}/Users/{body['id']}").status_code == 204
    gone = scim.get(f"{scim.base}/Users/{body['id']}")
    assert gone.status_code == 404 and gone.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    actions = list(AuditEvent.objects.filter(tenant=tenant, actor_type="scim_token").values_list("action", flat=True))
    assert "user.created" in actions and "user.updated" in actions and "user.deleted" in actions


def test_duplicate_username_is_409_uniqueness(scim):
    assert scim.post(f"{scim.base}/Users", json=okta_user()).status_code == 201
    again = scim.post(f"{scim.base}/Users", json=okta_user(external_id="00u2"))
    assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"


def test_okta_deactivation_and_entra_patch_forms(scim):

    user_id = scim.post(f"{scim.base}/Users", json=okta_user()).json()["id"]
    # Okta: PATCH without a path.
    okta = scim.patch(
        f"{scim.base}/Users/{user_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        },
    )
    assert okta.status_code == 200 and okta.json()["active"] is False
    assert not User.objects.get(sub=user_id).is_active
    # Entra ID: paths, and booleans as strings.
    entra = scim.patch(
        f"{scim.base}/Users/{user_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "True"},
                {"op": "Add", "path": "name.familyName", "value": "Dough"},
                {"op": "Replace", "path": "externalId", "value": "entra-42"},
                {"op": "Remove", "path": "locale"},
            ],
        },
    )
    assert entra.status_code == 200, entra.text
    user = User.objects.get(sub=user_id)
    assert user.is_active and user.family_name == "Dough" and user.external_id == "entra-42" and user.locale == ""


def test_deactivated_user_cannot_sign_in(scim, tenant):
    from django.contrib.auth import authenticate

    from tenants.services.users import set_password

    user_id = scim.post(f"{scim.base}/Users", json=okta_user()).json()["id"]
    set_password(User.objects.get(sub=user_id), "a-good-long-password")
    scim.patch(
        f"{scim.base}/Users/{user_id}", json={"Operations": [{"op": "replace", "path": "active", "value": False}]}
    )
    assert authenticate(None, username="jdoe@acme.example", password="a-good-long-password", tenant=tenant) is None


@pytest.mark.parametrize(
    "scim_filter,expected",
    [
        ('userName eq "ann@acme.example"', {"ann"}),
        ('userName ne "ann@acme.example"', {"bob", "cid"}),
        ('userName co "b@"', {"bob"}),
        ('userName sw "ci"', {"cid"}),
        ('userName ew "example"', {"ann", "bob", "cid"}),
        ("externalId pr", {"ann", "bob", "cid"}),
        ('name.familyName eq "Smith" and active eq true', {"ann"}),
        ('name.familyName eq "Smith" or userName eq "cid@acme.example"', {"ann", "bob", "cid"}),
        ('not (name.familyName eq "Smith")', {"cid"}),
        ('emails.value eq "bob@acme.example"', {"bob"}),
        ('emails[value eq "bob@acme.example"]', {"bob"}),
        ('meta.created gt "2000-01-01T00:00:00Z"', {"ann", "bob", "cid"}),
        ('meta.created lt "2000-01-01T00:00:00Z"', set()),
        (
            'meta.created ge "2000-01-01T00:00:00Z" and meta.lastModified le "2999-01-01T00:00:00Z"',
            {"ann", "bob", "cid"},
        ),
    ],
)
def test_filters(scim, scim_filter, expected):
    for name, family in (("ann", "Smith"), ("bob", "Smith"), ("cid", "Jones")):
        scim.post(f"{scim.base}/Users", json=okta_user(f"{name}@acme.example", name.title(), family, f"x-{name}"))
    scim.patch(
        f"{scim.base}/Users/"
        + scim.get(f"{scim.base}/Users", params={"filter": 'userName eq "bob@acme.example"'}).json()["Resources"][0][
            "id"
        ],
        json={"Operations": [{"op": "replace", "path": "active", "value": False}]},
    )
    answer = scim.get(f"{scim.base}/Users", params={"filter": scim_filter})
    assert answer.status_code == 200, answer.text
    assert {r["userName"].split("@")[0] for r in answer.json()["Resources"]} == expected


def test_invalid_filter_is_400_invalid_filter(scim):
    for bad in ("userName eq", 'nonsense op "x"', '(userName eq "a"'):
        answer = scim.get(f"{scim.base}/Users", params={"filter": bad})
        assert answer.status_code == 400 and answer.json()["scimType"] == "invalidFilter"


def test_paging_sorting_and_projection(scim):
    for n in range(7):
        scim.post(f"{scim.base}/Users", json=okta_user(f"user{n}@acme.example", f"U{n}", f"F{6 - n}", f"x{n}"))
    page = scim.get(
        f"{scim.base}/Users",
        params={"startIndex": 3, "count": 2, "sortBy": "name.familyName", "sortOrder": "descending"},
    ).json()
    assert page["totalResults"] == 7 and page["itemsPerPage"] == 2 and page["startIndex"] == 3
    assert [r["name"]["familyName"] for r in page["Resources"]] == ["F4", "F3"]
    projected = scim.get(f"{scim.base}/Users", params={"attributes": "userName", "count": 1}).json()["Resources"][0]
    assert set(projected) == {"id", "schemas", "meta", "userName"}
    excluded = scim.get(f"{scim.base}/Users", params={"excludedAttributes": "emails,name", "count": 1}).json()
    assert "emails" not in excluded["Resources"][0] and "name" not in excluded["Resources"][0]
    assert scim.get(f"{scim.base}/Users", params={"count": 0}).json()["Resources"] == []


def test_authentication_and_isolation(scim, live_server, other_tenant, tenant):
    user_id = scim.post(f"{scim.base}/Users", json=okta_user()).json()["id"]
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        answer = requests.get(f"{scim.base}/Users", headers=headers, timeout=10)
        assert answer.status_code == 401 and answer.json()["status"] == "401"
    _, foreign = create_scim_token(other_tenant)
    other_base = f"{live_server.url}/t/{other_tenant.slug}/scim/v2"
    assert (
        requests.get(f"{scim.base}/Users", headers={"Authorization": f"Bearer {foreign}"}, timeout=10).status_code
        == 401
    )
    # B's own token does not see A's user.
    b = {"Authorization": f"Bearer {foreign}"}
    assert requests.get(f"{other_base}/Users/{user_id}", headers=b, timeout=10).status_code == 404
    assert requests.get(f"{other_base}/Users", headers=b, timeout=10).json()["totalResults"] == 0
    assert requests.delete(f"{other_base}/Users/{user_id}", headers=b, timeout=10).status_code == 404
    revoke_scim_token(scim.token)
    assert scim.get(f"{scim.base}/Users").status_code == 401
    assert User.objects.filter(sub=user_id).exists()


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("post", "/Users", b"{not json"),
        ("post", "/Users", b'{"userName": 5}'),
        ("post", "/Users", b"{}"),
        ("post", "/Users", b'{"userName": "x", "active": "maybe"}'),
        ("put", "/Users/not-a-uuid", b"{}"),
        ("patch", "/Users/00000000-0000-0000-0000-000000000000", b'{"Operations": []}'),
        ("get", "/Users?startIndex=abc", None),
        ("get", "/Users?sortBy=nonsense", None),
    ],
)
def test_bad_requests_get_scim_errors(scim, method, path, body):
    answer = getattr(scim, method)(scim.base + path, data=body)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]


def test_discovery_endpoints(scim):
    config = scim.get(f"{scim.base}/ServiceProviderConfig").json()
    assert config["patch"]["supported"] is True and config["filter"]["supported"] is True
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    types = scim.get(f"{scim.base}/ResourceTypes").json()
    assert types["totalResults"] == 2 and {t["id"] for t in types["Resources"]} == {"User", "Group"}
    assert scim.get(f"{scim.base}/ResourceTypes/User").json()["endpoint"] == "/Users"
    schemas = scim.get(f"{scim.base}/Schemas").json()
    assert schemas["totalResults"] == 3
    assert scim.get(f"{scim.base}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").json()["name"] == "User"
    missing = scim.get(f"{scim.base}/ResourceTypes/Nope")
    assert missing.status_code == 404 and missing.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    nowhere = scim.get(f"{scim.base}/Nowhere")
    assert nowhere.status_code == 404 and nowhere.json()["status"] == "404"
    assert requests.get(f"{scim.base}/ServiceProviderConfig", timeout=10).status_code == 401


def test_search_endpoint_and_etag_preconditions(scim):
    user = scim.post(f"{scim.base}/Users", json=okta_user()).json()
    scim.post(f"{scim.base}/Users", json=okta_user("other@acme.example", external_id="o"))
    found = scim.post(
        f"{scim.base}/Users/.search",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName sw "jdoe"',
            "attributes": ["userName"],
            "count": 10,
        },
    )
    assert found.status_code == 200, found.text
    assert found.json()["totalResults"] == 1 and set(found.json()["Resources"][0]) == {
        "id",
        "schemas",
        "meta",
        "userName",
    }
    assert scim.post(f"{scim.base}/Users/.search", json={"filter": "x"}).status_code == 400
    stale = scim.patch(
        f"{scim.base}/Users/{user['id']}",
        headers={"If-Match": 'W/"stale"'},
        json={"Operations": [{"op": "replace", "path": "nickName", "value": "J"}]},
    )
    assert stale.status_code == 412
    fresh = scim.patch(
        f"{scim.base}/Users/{user['id']}",
        headers={"If-Match": user["meta"]["version"]},
        json={"Operations": [{"op": "replace", "path": "nickName", "value": "J"}]},
    )
    assert fresh.status_code == 200 and fresh.json()["nickName"] == "J"


def test_enterprise_extension_as_entra_sends_it(scim):
    ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    body = okta_user()
    body["schemas"].append(ext)
    body[ext] = {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "26118915"}}
    user = scim.post(f"{scim.base}/Users", json=body).json()
    assert user[ext] == {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "26118915"}}
    patched = scim.patch(
        f"{scim.base}/Users/{user['id']}",
        json={
            "Operations": [
                {"op": "Replace", "path": f"{ext}:department", "value": "Finance"},
                {"op": "Add", "path": f"{ext}:costCenter", "value": "4130"},
                {"op": "Remove", "path": f"{ext}:manager"},
                {"op": "replace", "value": {f"{ext}:division": "EMEA", "displayName": "Jo D"}},
            ]
        },
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()[ext] == {
        "employeeNumber": "701984",
        "department": "Finance",
        "costCenter": "4130",
        "division": "EMEA",
    }
    assert patched.json()["displayName"] == "Jo D"
    bad = scim.patch(
        f"{scim.base}/Users/{user['id']}",
        json={"Operations": [{"op": "replace", "path": f"{ext}:shoeSize", "value": "44"}]},
    )
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidPath"


def test_me_is_not_supported(scim):
    answer = scim.get(f"{scim.base}/Me")
    assert answer.status_code == 501 and answer.json()["status"] == "501"


def test_value_filter_paths_as_entra_sends_them(scim):
    user = scim.post(f"{scim.base}/Users", json=okta_user()).json()
    answer = scim.patch(
        f"{scim.base}/Users/{user['id']}",
        json={
            "Operations": [
                {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "john.doe@acme.example"},
                {"op": "Replace", "path": 'phoneNumbers[type eq "work"].value', "value": "+1 555 0100"},
            ]
        },
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["emails"][0]["value"] == "john.doe@acme.example"
    assert answer.json()["phoneNumbers"][0]["value"] == "+1 555 0100"


def test_post_to_a_resource_is_405(scim):
    user = scim.post(f"{scim.base}/Users", json=okta_user()).json()
    answer = scim.post(f"{scim.base}/Users/{user['id']}", json=okta_user("x@acme.example", external_id="x"))
    assert answer.status_code == 405 and answer.json()["status"] == 405
    assert scim.get(f"{scim.base}/Users", params={"filter": 'userName eq "x@acme.example"'}).json()["totalResults"] == 0


def test_tenant_email_domains_are_enforced_for_provisioning(scim, tenant):
    from tenants.policy import TenantPolicy, update_tenant_policy

    update_tenant_policy(tenant, policy=TenantPolicy(allowed_email_domains=("acme.example",)))
    refused = scim.post(f"{scim.base}/Users", json=okta_user(user_name="eve@evil.example"))
    assert refused.status_code == 400 and refused.json()["scimType"] == "invalidValue"
    assert "acme.example" in refused.json()["detail"]
    assert not User.objects.filter(tenant=tenant, username="eve@evil.example").exists()
    assert scim.post(f"{scim.base}/Users", json=okta_user()).status_code == 201
