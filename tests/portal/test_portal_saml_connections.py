# ruff: noqa: F811 - the shared fixtures imported below are parameters of the tests
"""The portal's SAML IdP connections (corporate identity providers the tenant signs in through): add
from metadata or its URL, edit the JIT rules, delete, errors in place, and the test sign-in link."""

import base64
import zlib
from urllib.parse import parse_qs, urlsplit

import pytest
from saml2 import BINDING_HTTP_REDIRECT

from lumoauth.events.models import AuditEvent
from saml.models import IdPConnection
from saml.services.idp_connections import create_connection
from tests.saml.conftest import IDP_ENTITY, IDP_SSO, corporate_idp
from tests.saml.test_admin_services import serving

from .saml_support import (  # noqa: F401 (fixtures, and the key pairs they use)
    CONNECTIONS,
    admin_actions,
    connection_form,
    idp_keypair,
    idp_metadata,
    keypair,
    metadata,
)

pytestmark = pytest.mark.django_db


def test_add_edit_delete_connection(admin_client, tenant, admin, idp_metadata):
    added = admin_client.post(CONNECTIONS, {"name": "Corp SSO", "slug": "corp", "metadata": idp_metadata})
    assert added.status_code == 302 and added["Location"] == f"{CONNECTIONS}corp/"
    connection = IdPConnection.objects.get(tenant=tenant, slug="corp")
    assert connection.entity_id == IDP_ENTITY and connection.sso_url == IDP_SSO
    page = admin_client.get(added["Location"]).content.decode()
    assert "Identity provider Corp SSO connected." in page and "email = email" in page  # the default mapping

    saved = admin_client.post(
        f"{CONNECTIONS}corp/",
        connection_form(email_domains="corp.example, Sub.Corp.Example", trust_email="on", sign_requests=None),
    )
    assert saved.status_code == 302 and saved["Location"] == CONNECTIONS
    connection.refresh_from_db()
    assert connection.attribute_mapping == {"email": "mail", "given_name": "givenName"}
    assert connection.default_groups == ["Employees"] and connection.group_attribute == "memberOf"
    assert connection.group_mapping == {"eng-all": "Engineering"}
    assert connection.email_domains == ["corp.example", "sub.corp.example"]
    assert connection.trust_email and not connection.sign_requests and connection.active
    updated = AuditEvent.objects.get(tenant=tenant, action="saml.idp_connection.updated")
    assert updated.actor_id == str(admin.pk) and updated.details["fields"] == [
        "attribute_mapping",
        "default_groups",
        "email_domains",
        "group_attribute",
        "group_mapping",
        "sign_requests",
        "trust_email",
    ]
    same = connection_form(email_domains="corp.example\nsub.corp.example", trust_email="on", sign_requests=None)
    assert admin_client.post(f"{CONNECTIONS}corp/", same).status_code == 302
    assert AuditEvent.objects.filter(tenant=tenant, action="saml.idp_connection.updated").count() == 1  # no change
    listing = admin_client.get(CONNECTIONS).content.decode()
    assert "Corp SSO" in listing and "corp.example, sub.corp.example" in listing

    deleted = admin_client.post(f"{CONNECTIONS}corp/delete")
    assert deleted.status_code == 302 and not IdPConnection.objects.filter(tenant=tenant).exists()
    actions = admin_actions(tenant, admin)
    assert {"saml.idp_connection.created", "saml.idp_connection.updated", "saml.idp_connection.deleted"} <= actions


def test_connection_from_a_metadata_url(admin_client, tenant, idp_metadata, settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True  # the metadata server is on 127.0.0.1 (SSRF policy)
    with serving(idp_metadata.encode()) as url:
        added = admin_client.post(CONNECTIONS, {"name": "Corp SSO", "slug": "corp", "metadata_url": url})
    assert added.status_code == 302
    assert IdPConnection.objects.get(tenant=tenant).entity_id == IDP_ENTITY
    with serving(b"<html>a login page</html>") as url:
        not_metadata = admin_client.post(CONNECTIONS, {"name": "Other", "slug": "other", "metadata_url": url})
    assert not_metadata.status_code == 400 and "metadata_url" in not_metadata.context["form"].errors
    assert f'value="{url}"' in not_metadata.content.decode()


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"metadata_url": "http://127.0.0.1:9/none"}, "metadata_url", "Could not fetch the metadata"),
        ({"metadata_url": "file:///etc/passwd"}, "metadata_url", "Use an http(s) URL."),
        ({}, "metadata", "Paste the identity provider's metadata or give its URL."),
        ({"metadata": "<nope", "metadata_url": "https://x.example/"}, "metadata_url", "not both"),
        ({"metadata": "<md:EntityDescriptor"}, "metadata", "Not well-formed XML"),
        ({"slug": "Not a slug!"}, "slug", "Enter a valid"),
    ],
)
def test_connection_errors_are_shown_in_place(admin_client, data, field, message):
    answer = admin_client.post(CONNECTIONS, {"name": "Typed", "slug": "corp"} | data)
    assert answer.status_code == 400
    assert message in " ".join(answer.context["form"].errors[field])
    assert 'value="Typed"' in answer.content.decode()
    assert not IdPConnection.objects.exists()


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"attribute_mapping": "password = pw"}, "attribute_mapping", "'password' is not a user field"),
        ({"attribute_mapping": "email mail"}, "attribute_mapping", "Line 1"),
        ({"email_domains": "@corp.example"}, "email_domains", "Email domains look like"),
        ({"group_attribute": ""}, "group_attribute", "Name the attribute"),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_connection_edit_errors_are_shown_in_place(
    admin_client, tenant, admin, idp_metadata, overrides, field, message
):
    create_connection(tenant, "corp", "Corp SSO", idp_metadata)
    answer = admin_client.post(f"{CONNECTIONS}corp/", connection_form(**overrides))
    assert answer.status_code == 400
    assert message in " ".join(answer.context["form"].errors[field])
    assert "Employees" in answer.content.decode()  # what was typed stays
    assert IdPConnection.objects.get(tenant=tenant).default_groups == []
    assert "saml.idp_connection.updated" not in admin_actions(tenant, admin)


def test_test_sign_in_link_starts_the_real_sp_login(admin_client, tenant, idp_keypair, idp_metadata):
    create_connection(tenant, "corp", "Corp SSO", idp_metadata)
    listing = admin_client.get(CONNECTIONS).content.decode()
    link = '<a href="/t/acme/saml/sp/login?idp=corp" target="_blank" rel="noopener"'
    assert link in listing and link in admin_client.get(f"{CONNECTIONS}corp/").content.decode()
    started = admin_client.get("/t/acme/saml/sp/login?idp=corp")
    assert started.status_code == 302 and started["Location"].startswith(f"{IDP_SSO}?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(started["Location"]).query).items()}
    request_xml = zlib.decompress(base64.b64decode(query["SAMLRequest"]), -15).decode()
    assert "AuthnRequest" in request_xml and f'Destination="{IDP_SSO}"' in request_xml
    # The corporate IdP (pysaml2), knowing our SP metadata, accepts the signed request as ours.
    our_metadata = admin_client.get("/t/acme/saml/sp/metadata").content.decode()
    parsed = corporate_idp(idp_keypair, [our_metadata]).parse_authn_request(
        query["SAMLRequest"], BINDING_HTTP_REDIRECT, sigalg=query["SigAlg"], signature=query["Signature"]
    )
    assert parsed.message.issuer.text == "http://testserver/t/acme/saml/sp/metadata"
    # An inactive connection offers no test link (the login would refuse it).
    IdPConnection.objects.filter(tenant=tenant).update(active=False)
    assert link not in admin_client.get(CONNECTIONS).content.decode()
