"""SCIM Groups over real HTTP: create, membership PATCH as Okta and Entra ID send it, filters, isolation."""

import pytest
import requests

from lumoauth.events.models import AuditEvent
from scim.tokens import create_scim_token
from tenants.models import Group

from .test_users import SCIM, okta_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scim(live_server, tenant):
    _, token = create_scim_token(tenant, label="entra")
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {token}", "Content-Type": SCIM, "Accept": SCIM})
    session.base = f"{live_server.url}/t/acme/scim/v2"
    return session


def users(scim, *names):
    return [scim.post(f"{scim.base}/Users", json=okta_user(f"{n}@acme.example", n, "X", n)).json()["id"] for n in names]


def members_of(scim, group_id):
    return {m["value"] for m in scim.get(f"{scim.base}/Groups/{group_id}").json().get("members", [])}


def test_group_lifecycle_and_membership_patches(scim, tenant):
    ann, bob, cid = users(scim, "ann", "bob", "cid")
    created = scim.post(
        f"{scim.base}/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "externalId": "okta-grp-1",
            "members": [{"value": ann}],
        },
    )
    assert created.status_code == 201, created.text
    group_id = created.json()["id"]
    assert created.json()["members"][0]["value"] == ann
    # Okta: add members, then remove one by filter path.
    okta_add = scim.patch(
        f"{scim.base}/Groups/{group_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": bob}, {"value": cid}]}],
        },
    )
    assert okta_add.status_code == 200, okta_add.text
    assert members_of(scim, group_id) == {ann, bob, cid}
    scim.patch(
        f"{scim.base}/Groups/{group_id}", json={"Operations": [{"op": "remove", "path": f'members[value eq "{bob}"]'}]}
    )
    assert members_of(scim, group_id) == {ann, cid}
    # Entra ID: "Remove" with a members value list, "Replace" of displayName without path.
    scim.patch(
        f"{scim.base}/Groups/{group_id}",
        json={
            "Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": cid}]},
                {"op": "Replace", "value": {"displayName": "Platform"}},
            ]
        },
    )
    assert members_of(scim, group_id) == {ann}
    assert Group.objects.get(uid=group_id).name == "Platform"
    # PUT replaces the members.
    put = scim.put(f"{scim.base}/Groups/{group_id}", json={"displayName": "Platform", "members": [{"value": bob}]})
    assert put.status_code == 200 and members_of(scim, group_id) == {bob}
    # excludedAttributes=members, as provisioning clients ask for large groups.
    slim = scim.get(f"{scim.base}/Groups/{group_id}", params={"excludedAttributes": "members"}).json()
    assert "members" not in slim
    listed = scim.get(f"{scim.base}/Groups", params={"filter": 'displayName eq "Platform"'}).json()
    assert listed["totalResults"] == 1 and listed["Resources"][0]["id"] == group_id
    by_member = scim.get(f"{scim.base}/Groups", params={"filter": f'members.value eq "{bob}"'}).json()
    assert by_member["totalResults"] == 1
    assert scim.delete(f"{scim.base}/Groups/{group_id}").status_code == 204
    assert scim.get(f"{scim.base}/Groups/{group_id}").status_code == 404
    actions = set(AuditEvent.objects.filter(tenant=tenant, actor_type="scim_token").values_list("action", flat=True))
    assert {"group.created", "group.updated", "membership.added", "membership.removed", "group.deleted"} <= actions


def test_group_errors(scim, live_server, other_tenant):
    (ann,) = users(scim, "ann")
    assert scim.post(f"{scim.base}/Groups", json={"displayName": "Ops"}).status_code == 201
    duplicate = scim.post(f"{scim.base}/Groups", json={"displayName": "ops"})
    assert duplicate.status_code == 409 and duplicate.json()["scimType"] == "uniqueness"
    assert scim.post(f"{scim.base}/Groups", json={}).status_code == 400
    assert scim.post(f"{scim.base}/Groups", json={"displayName": 7}).json()["scimType"] == "invalidValue"
    stranger = scim.post(f"{scim.base}/Groups", json={"displayName": "X", "members": [{"value": "nope"}]})
    assert stranger.status_code == 400
    group_id = scim.get(f"{scim.base}/Groups").json()["Resources"][0]["id"]
    bad_path = scim.patch(
        f"{scim.base}/Groups/{group_id}", json={"Operations": [{"op": "replace", "path": "owner", "value": "x"}]}
    )
    assert bad_path.status_code == 400 and bad_path.json()["scimType"] == "invalidPath"
    no_target = scim.patch(f"{scim.base}/Groups/{group_id}", json={"Operations": [{"op": "remove"}]})
    assert no_target.status_code == 400 and no_target.json()["scimType"] == "noTarget"
    # Another tenant's user cannot be added, another tenant cannot see the group.
    _, foreign = create_scim_token(other_tenant)
    b = {"Authorization": f"Bearer {foreign}", "Content-Type": SCIM}
    other_base = f"{live_server.url}/t/{other_tenant.slug}/scim/v2"
    assert requests.get(f"{other_base}/Groups/{group_id}", headers=b, timeout=10).status_code == 404
    b_group = requests.post(f"{other_base}/Groups", headers=b, json={"displayName": "Ops"}, timeout=10).json()["id"]
    cross = requests.patch(
        f"{other_base}/Groups/{b_group}",
        headers=b,
        timeout=10,
        json={"Operations": [{"op": "add", "path": "members", "value": [{"value": ann}]}]},
    )
    assert cross.status_code == 400
