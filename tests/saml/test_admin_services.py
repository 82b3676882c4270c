"""The saml services the admin portal calls: validation of what an admin may set, update and delete
of IdP connections, each audited."""

import contextlib
import http.server
import threading

import pytest
from django.core.exceptions import ValidationError
from saml2.metadata import create_metadata_string

from lumoauth.events.api import Ref
from lumoauth.events.models import AuditEvent
from saml.idp.sso import released_attributes
from saml.models import IdPConnection, ServiceProvider
from saml.services.idp_connections import create_connection, delete_connection, update_connection
from saml.services.service_providers import register_from_metadata, update_service_provider
from tenants.models import FederatedIdentity, User

from .conftest import corporate_idp, make_keypair, sp_config, sp_metadata

pytestmark = pytest.mark.django_db

ADMIN = Ref("user", "42", "boss")


@contextlib.contextmanager
def serving(body: bytes, status: int = 200):
    """A throwaway HTTP server on 127.0.0.1 answering every GET with `body`; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(status)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/metadata"
    finally:
        server.shutdown()
        server.server_close()


def idp_metadata(tmp_path, name="corp-idp") -> str:
    return create_metadata_string(None, config=corporate_idp(make_keypair(tmp_path, name)).config, sign=False).decode()


@pytest.fixture
def connection(tmp_path, tenant):
    return create_connection(tenant, "corp", "Corp SSO", idp_metadata(tmp_path), email_domains=["Corp.Example"])


def test_attribute_release_names_real_user_fields(tmp_path, tenant):
    metadata = sp_metadata(sp_config(make_keypair(tmp_path)))
    with pytest.raises(ValidationError) as refused:
        register_from_metadata(tenant, metadata, attribute_release={"pw": "password"})
    assert "attribute_release" in refused.value.message_dict
    sp = register_from_metadata(tenant, metadata, attribute_release={"mail": "email", "memberOf": "groups"})
    for release in (
        {"x": "is_tenant_admin"},
        {"x": "nonexistent"},
        {"x": ["email"]},
        {"with space": "email"},
        {"": "email"},
        ["x"],
    ):
        with pytest.raises(ValidationError) as refused:
            update_service_provider(sp, attribute_release=release)
        assert "attribute_release" in refused.value.message_dict
    update_service_provider(sp, attribute_release={"sub": "sub", "uid": "username"}, actor=ADMIN)
    sp.refresh_from_db()
    assert sp.attribute_release == {"sub": "sub", "uid": "username"}


def test_sign_in_never_releases_credentials_even_if_stored(tmp_path, tenant, make_user):
    sp = register_from_metadata(tenant, sp_metadata(sp_config(make_keypair(tmp_path))))
    # Written past the service (e.g. by an old release or by hand): sign-in still filters it.
    ServiceProvider.objects.filter(pk=sp.pk).update(attribute_release={"pw": "password", "mail": "email"})
    sp.refresh_from_db()
    user = make_user(tenant, "dana", email="dana@acme.example")
    assert released_attributes(sp, user) == {"mail": ["dana@acme.example"]}


def test_signed_requests_need_the_sp_certificate(tmp_path, tenant):
    sp = register_from_metadata(tenant, sp_metadata(sp_config(make_keypair(tmp_path))))
    ServiceProvider.objects.filter(pk=sp.pk).update(certificate_pem="")
    sp.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        update_service_provider(sp, require_signed_requests=True)
    assert "require_signed_requests" in refused.value.message_dict


def test_update_connection_is_audited(connection, tenant):
    assert connection.email_domains == ["corp.example"]
    update_connection(
        connection,
        actor=ADMIN,
        name="Corporate SSO",
        attribute_mapping={"email": "mail", "preferred_username": "uid"},
        default_groups=["Staff"],
        group_attribute="memberOf",
        group_mapping={"eng-all": "Engineering"},
        email_domains=["corp.example", " Sub.Corp.Example ", "corp.example"],
        trust_email=True,
        sign_requests=False,
        active=False,
    )
    stored = IdPConnection.objects.get(pk=connection.pk)
    assert stored.name == "Corporate SSO" and stored.attribute_mapping == {"email": "mail", "preferred_username": "uid"}
    assert stored.email_domains == ["corp.example", "sub.corp.example"]
    assert (stored.trust_email, stored.sign_requests, stored.active) == (True, False, False)
    event = AuditEvent.objects.get(tenant=tenant, action="saml.idp_connection.updated")
    assert event.actor_id == "42" and event.target_id == str(connection.pk)
    assert "attribute_mapping" in event.details["fields"]


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"attribute_mapping": {"password": "pw"}}, "attribute_mapping"),
        ({"attribute_mapping": {"is_tenant_admin": "admin"}}, "attribute_mapping"),
        ({"attribute_mapping": {"email": ""}}, "attribute_mapping"),
        ({"default_groups": ["", "x"]}, "default_groups"),
        ({"default_groups": ["g" * 201]}, "default_groups"),
        ({"group_mapping": {"eng": "Engineering"}, "group_attribute": ""}, "group_attribute"),
        ({"group_mapping": {"eng": ""}, "group_attribute": "memberOf"}, "group_mapping"),
        ({"email_domains": ["@corp.example"]}, "email_domains"),
        ({"email_domains": ["https://corp.example"]}, "email_domains"),
        ({"email_domains": ["corp.example\n"]}, None),  # stripped: accepted
        ({"name": ""}, "name"),
    ],
)
def test_update_connection_refuses_what_sign_in_cannot_use(connection, tenant, changes, field):
    if field is None:
        update_connection(connection, **changes)
        return
    with pytest.raises(ValidationError) as refused:
        update_connection(connection, **changes)
    assert field in refused.value.message_dict
    assert IdPConnection.objects.get(pk=connection.pk).name == "Corp SSO"
    assert not AuditEvent.objects.filter(tenant=tenant, action="saml.idp_connection.updated").exists()


def test_metadata_fields_cannot_be_edited(connection):
    with pytest.raises(ValueError):
        update_connection(connection, entity_id="https://evil.example/")
    with pytest.raises(ValueError):
        update_connection(connection, certificate_pem="")


def test_one_email_domain_one_connection(connection, tmp_path, tenant, other_tenant):
    with pytest.raises(ValidationError) as refused:
        create_connection(
            tenant,
            "other",
            "Other",
            idp_metadata(tmp_path, "other").replace("idp.corp.example", "idp.other.example"),
            email_domains=["corp.example"],
        )
    assert "already served by Corp SSO" in str(refused.value)
    # Another tenant may serve the same domain with its own connection.
    create_connection(other_tenant, "corp", "Corp", idp_metadata(tmp_path, "g"), email_domains=["corp.example"])


def test_delete_connection_is_audited_and_unlinks_its_identities(connection, tenant, make_user):
    pk = connection.pk
    linked, other = make_user(tenant, "linked"), make_user(tenant, "other")
    FederatedIdentity.objects.create(tenant=tenant, user=linked, connection=connection.connection_key, subject="s1")
    FederatedIdentity.objects.create(tenant=tenant, user=other, connection="saml:999999", subject="s2")
    delete_connection(connection, actor=ADMIN)
    assert not IdPConnection.objects.filter(pk=pk).exists()
    # The user stays; only the link through the deleted connection goes.
    assert list(FederatedIdentity.objects.values_list("subject", flat=True)) == ["s2"]
    assert User.objects.filter(pk=linked.pk).exists()
    event = AuditEvent.objects.get(tenant=tenant, action="saml.idp_connection.deleted")
    assert event.actor_id == "42" and event.target_id == str(pk) and event.target_label == "Corp SSO"
    assert event.details["identities_unlinked"] == 1


def test_fetched_metadata_errors_name_the_url(tmp_path, tenant, settings):
    settings.LUMOAUTH_OUTBOUND_ALLOW_PRIVATE = True  # the metadata server is on 127.0.0.1 (SSRF policy)
    with serving(b"<html>not metadata</html>") as url:
        with pytest.raises(ValidationError) as refused:
            create_connection(tenant, "corp", "Corp", metadata_url=url)
    assert "metadata_url" in refused.value.message_dict
    with serving(idp_metadata(tmp_path).encode()) as url:
        connection = create_connection(tenant, "corp", "Corp", metadata_url=url)
    assert connection.sso_url == "https://idp.corp.example/sso"
