"""The SCIM endpoint driven by a third-party client library (scim2-client + scim2-models) over HTTP."""

import pytest
from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import Email, Group, GroupMember, ListResponse, Name, SearchRequest, User

from scim.tokens import create_scim_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client(live_server, tenant):
    _, token = create_scim_token(tenant, label="scim2-client")
    http = Client(base_url=f"{live_server.url}/t/acme/scim/v2", headers={"Authorization": f"Bearer {token}"})
    scim = SyncSCIMClient(http)
    scim.discover()  # reads our ServiceProviderConfig, ResourceTypes and Schemas
    yield scim
    http.close()


def test_users_and_groups_with_scim2_client(client):
    created = client.create(
        User(
            user_name="bjensen@acme.example",
            name=Name(given_name="Barbara", family_name="Jensen"),
            emails=[Email(value="bjensen@acme.example", primary=True)],
            active=True,
        )
    )
    assert created.id and created.user_name == "bjensen@acme.example" and created.name.family_name == "Jensen"
    fetched = client.query(User, created.id)
    assert fetched.emails[0].value == "bjensen@acme.example" and fetched.meta.version
    found = client.query(User, query_parameters={"filter": 'userName sw "bjen"'})
    assert isinstance(found, ListResponse) and found.total_results == 1
    fetched.name.given_name = "Babs"
    replaced = client.replace(fetched)
    assert replaced.name.given_name == "Babs"

    group = client.create(Group(display_name="Readers", members=[GroupMember(value=created.id)]))
    assert group.members[0].value == created.id
    searched = client.search(Group, search_request=SearchRequest(filter='displayName eq "Readers"'))
    assert searched.total_results >= 1
    client.delete(Group, group.id)
    client.delete(User, created.id)
    assert client.query(User, query_parameters={"filter": 'userName sw "bjen"'}).total_results == 0
