"""The portal's SAML section: service providers (the tenant as IdP) and IdP connections (the tenant
as SP), through the Django test client and once in a real browser."""

import base64
import html
import zlib
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree

import pytest
from django.test import Client
from saml2 import BINDING_HTTP_REDIRECT
from saml2.metadata import create_metadata_string

from lumoauth.events.models import AuditEvent
from saml.models import IdPConnection, NameIDFormat, ServiceProvider
from saml.services.idp_connections import create_connection
from saml.services.service_providers import register_from_metadata
from tests.conftest import PASSWORD
from tests.saml.conftest import IDP_ENTITY, IDP_SSO, SP_ENTITY_ID, corporate_idp, make_keypair, sp_config, sp_metadata
from tests.saml.test_admin_services import serving

from .conftest import screenshot

pytestmark = pytest.mark.django_db

SAML = "/t/acme/portal/saml/"
CONNECTIONS = "/t/acme/portal/saml/connections/"
MD = "urn:oasis:names:tc:SAML:2.0:metadata"


@pytest.fixture
def keypair(tmp_path):
    return make_keypair(tmp_path, "sp")


@pytest.fixture
def metadata(keypair):
    """A real SP's metadata, as pysaml2 publishes it."""
    return sp_metadata(sp_config(keypair))


@pytest.fixture
def idp_keypair(tmp_path):
    return make_keypair(tmp_path, "corp-idp")


@pytest.fixture
def idp_metadata(idp_keypair):
    """A real corporate IdP's metadata, as pysaml2 publishes it."""
    return create_metadata_string(None, config=corporate_idp(idp_keypair).config, sign=False).decode()


def without_certificate(metadata: str) -> str:
    root = ElementTree.fromstring(metadata)
    for descriptor in root.iter(f"{{{MD}}}SPSSODescriptor"):
        for key in descriptor.findall(f"{{{MD}}}KeyDescriptor"):
            descriptor.remove(key)
    return ElementTree.tostring(root, encoding="unicode")


def sp_form(**overrides) -> dict:
    data = {
        "name": "Wiki",
        "nameid_format": NameIDFormat.EMAIL,
        "attribute_release": "email = email\nuid = username",
        "sign_response": "on",
        "sign_assertion": "on",
        "active": "on",
    }
    return {k: v for k, v in (data | overrides).items() if v is not None}


def connection_form(**overrides) -> dict:
    data = {
        "name": "Corp SSO",
        "attribute_mapping": "email = mail\ngiven_name = givenName",
        "default_groups": "Employees",
        "group_attribute": "memberOf",
        "group_mapping": "eng-all = Engineering",
        "email_domains": "corp.example",
        "sign_requests": "on",
        "active": "on",
    }
    return {k: v for k, v in (data | overrides).items() if v is not None}


def admin_actions(tenant, admin) -> set[str]:
    return set(AuditEvent.objects.filter(tenant=tenant, actor_id=str(admin.pk)).values_list("action", flat=True))


def test_idp_details_and_empty_states(admin_client):
    page = admin_client.get(SAML)
    assert page.status_code == 200 and page.context["section"] == "saml"
    body = page.content.decode()
    assert 'id="idp-metadata-url">http://testserver/t/acme/saml/idp/metadata<' in body
    assert 'data-copy="#idp-metadata-url"' in body
    assert "http://testserver/t/acme/saml/idp/sso" in body
    assert "No service providers yet" in body and 'class="empty"' in body
    assert ">Single sign-on</a>" in body and 'aria-current="page">Single sign-on<' in body
    # The IdP metadata URL shown is the one the saml app serves.
    assert admin_client.get("/t/acme/saml/idp/metadata").status_code == 200
    connections = admin_client.get(CONNECTIONS).content.decode()
    assert "No identity providers connected yet" in connections
    assert (
        "http://testserver/t/acme/saml/sp/metadata" in connections
        and "http://testserver/t/acme/saml/sp/acs" in connections
    )


def test_add_edit_delete_service_provider(admin_client, tenant, admin, metadata):
    added = admin_client.post(SAML, {"metadata": metadata, "name": "Wiki", "nameid_format": ""})
    assert added.status_code == 302 and added["Location"] == SAML
    sp = ServiceProvider.objects.get(tenant=tenant)
    assert sp.entity_id == SP_ENTITY_ID and sp.name == "Wiki" and sp.certificate_pem
    listing = admin_client.get(SAML).content.decode()
    assert "Service provider Wiki registered." in listing and SP_ENTITY_ID in listing and "Email address" in listing
    assert "signed response" in listing and "encrypted assertion" not in listing

    edit = f"{SAML}sp/{sp.pk}/"
    form = admin_client.get(edit)
    assert form.status_code == 200 and "uid = username" in form.content.decode()
    saved = admin_client.post(
        edit,
        sp_form(
            nameid_format=NameIDFormat.PERSISTENT,
            attribute_release="mail = email\nmemberOf = groups",
            sign_response=None,
            encrypt_assertion="on",
        ),
    )
    assert saved.status_code == 302
    sp.refresh_from_db()
    assert sp.nameid_format == NameIDFormat.PERSISTENT
    assert sp.attribute_release == {"mail": "email", "memberOf": "groups"}
    assert (sp.sign_response, sp.sign_assertion, sp.encrypt_assertion, sp.active) == (False, True, True, True)
    assert "encrypted assertion" in admin_client.get(SAML).content.decode()
    updated = AuditEvent.objects.get(tenant=tenant, action="saml.sp.updated")
    assert updated.details["fields"] == ["attribute_release", "encrypt_assertion", "nameid_format", "sign_response"]

    assert admin_client.get(f"{edit}delete").status_code == 405  # deletion is a POST only
    deleted = admin_client.post(f"{edit}delete")
    assert deleted.status_code == 302 and not ServiceProvider.objects.filter(pk=sp.pk).exists()
    assert {"saml.sp.created", "saml.sp.updated", "saml.sp.deleted"} <= admin_actions(tenant, admin)
    created = AuditEvent.objects.get(tenant=tenant, action="saml.sp.created")
    assert created.actor_label == "boss" and created.target_label == "Wiki"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("<EntityDescriptor broken", "Not well-formed XML"),
        ("   ", "Metadata is empty"),
        ('<x:EntityDescriptor xmlns:x="urn:other" entityID="e"/>', "No EntityDescriptor"),
    ],
)
def test_metadata_errors_are_shown_in_place_with_the_text_kept(admin_client, typed, message):
    answer = admin_client.post(SAML, {"metadata": typed, "name": "Typed name", "nameid_format": ""})
    assert answer.status_code == 400
    form = answer.context["form"]
    assert any(message in error for error in form.errors["metadata"])
    body = answer.content.decode()
    assert html.escape(typed) in body and 'value="Typed name"' in body
    assert not ServiceProvider.objects.exists()


def test_idp_metadata_is_not_sp_metadata_and_duplicates_are_refused(admin_client, idp_metadata, metadata):
    wrong = admin_client.post(SAML, {"metadata": idp_metadata, "nameid_format": ""})
    assert wrong.status_code == 400 and "not a service provider" in " ".join(wrong.context["form"].errors["metadata"])
    assert admin_client.post(SAML, {"metadata": metadata, "nameid_format": ""}).status_code == 302
    again = admin_client.post(SAML, {"metadata": metadata, "nameid_format": ""})
    assert again.status_code == 400 and "already registered" in " ".join(again.context["form"].errors["metadata"])


def test_encryption_without_certificate_is_refused_in_place(admin_client, tenant, admin, metadata):
    sp = register_from_metadata(tenant, without_certificate(metadata), name="No cert")
    assert not sp.certificate_pem
    answer = admin_client.post(f"{SAML}sp/{sp.pk}/", sp_form(name="Renamed", encrypt_assertion="on"))
    assert answer.status_code == 400
    assert answer.context["form"].errors["encrypt_assertion"] == ["Encryption needs the SP's certificate."]
    body = answer.content.decode()
    assert 'id="id_encrypt_assertion-error"' in body and 'value="Renamed"' in body  # in place, typed text kept
    assert "assertions cannot be encrypted" in body
    sp.refresh_from_db()
    assert sp.name == "No cert" and not sp.encrypt_assertion
    assert "saml.sp.updated" not in admin_actions(tenant, admin)


@pytest.mark.parametrize(
    "release, message",
    [
        ("pw = password", "'password' is not a user field"),
        ("admin = is_tenant_admin", "'is_tenant_admin' is not a user field"),
        ("just a line", "Line 1"),
        ("email = email\nemail = name", "Line 2: email appears twice"),
        ("my attr = email", "must not contain spaces"),
    ],
)
def test_attribute_release_is_checked_against_user_fields(admin_client, tenant, metadata, release, message):
    sp = register_from_metadata(tenant, metadata)
    answer = admin_client.post(f"{SAML}sp/{sp.pk}/", sp_form(attribute_release=release))
    assert answer.status_code == 400
    assert message in " ".join(answer.context["form"].errors["attribute_release"])
    assert html.escape(release) in answer.content.decode()
    sp.refresh_from_db()
    assert "pw" not in sp.attribute_release and sp.name != "Wiki"


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


def test_objects_of_another_tenant_are_not_found(admin_client, tenant, other_tenant, metadata, idp_metadata):
    sp = register_from_metadata(other_tenant, metadata, name="Theirs")
    create_connection(other_tenant, "corp", "Theirs", idp_metadata)
    for path in (f"{SAML}sp/{sp.pk}/", f"{CONNECTIONS}corp/"):
        assert admin_client.get(path).status_code == 404
        assert admin_client.post(path, sp_form() | connection_form()).status_code == 404
        assert admin_client.post(f"{path}delete").status_code == 404
    sp.refresh_from_db()
    assert sp.name == "Theirs" and IdPConnection.objects.get(tenant=other_tenant).name == "Theirs"
    assert "Theirs" not in admin_client.get(SAML).content.decode()
    assert "Theirs" not in admin_client.get(CONNECTIONS).content.decode()


def test_non_admins_learn_nothing(tenant, make_user, sign_in, metadata, idp_metadata):
    sp = register_from_metadata(tenant, metadata)
    create_connection(tenant, "corp", "Corp SSO", idp_metadata)
    make_user(tenant, "alice")
    member = Client()
    sign_in(member, tenant, "alice")
    for path in (SAML, f"{SAML}sp/{sp.pk}/", CONNECTIONS, f"{CONNECTIONS}corp/"):
        assert member.get(path).status_code == 404
        assert member.post(path, {"name": "mine"}).status_code == 404
    assert member.post(f"{SAML}sp/{sp.pk}/delete").status_code == 404
    assert member.post(f"{CONNECTIONS}corp/delete").status_code == 404
    assert ServiceProvider.objects.filter(pk=sp.pk).exists() and IdPConnection.objects.filter(slug="corp").exists()
    anonymous = Client().get(SAML)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/t/acme/login?next=")


def test_csrf_token_is_required(tenant, admin, metadata, idp_metadata):
    strict = Client(enforce_csrf_checks=True)
    page = strict.get("/t/acme/login")
    strict.post(
        "/t/acme/login",
        {"identifier": "boss", "password": PASSWORD, "csrfmiddlewaretoken": str(page.context["csrf_token"])},
    )
    assert strict.get(SAML).status_code == 200  # signed in
    assert strict.post(SAML, {"metadata": metadata}).status_code == 403
    assert strict.post(CONNECTIONS, {"name": "Corp", "slug": "corp", "metadata": idp_metadata}).status_code == 403
    sp = register_from_metadata(tenant, metadata)
    assert strict.post(f"{SAML}sp/{sp.pk}/delete").status_code == 403
    assert not IdPConnection.objects.exists() and ServiceProvider.objects.filter(pk=sp.pk).exists()


def test_malformed_input_is_a_400_not_a_500(admin_client, tenant, metadata):
    sp = register_from_metadata(tenant, metadata)
    edit = f"{SAML}sp/{sp.pk}/"
    assert admin_client.post(SAML, {"metadata": metadata, "nameid_format": "urn:bogus"}).status_code == 400
    assert admin_client.post(edit, sp_form(nameid_format="")).status_code == 400
    assert admin_client.post(edit, sp_form(name="x" * 500)).status_code == 400
    assert admin_client.post(edit, sp_form(attribute_release="a = b\x00")).status_code == 400
    assert admin_client.post(SAML, {"metadata": "<a>\x00</a>"}).status_code == 400
    assert admin_client.post(SAML, {"metadata": "x" * (512 * 1024 + 1)}).status_code == 400
    assert admin_client.post(CONNECTIONS, {"name": "n", "slug": "s", "metadata_url": "http://[::1"}).status_code == 400
    assert admin_client.get(f"{SAML}sp/{'9' * 30}/").status_code == 404
    assert admin_client.post(f"{SAML}sp/{'9' * 30}/delete").status_code == 404
    assert admin_client.get(f"{CONNECTIONS}{'a' * 300}/").status_code == 404
    assert admin_client.put(SAML).status_code == 405
    for path in (SAML, edit, CONNECTIONS):
        for body, content_type in (
            (b"metadata=%ff%fe&name=%c3%28", "application/x-www-form-urlencoded"),
            (b'{"metadata": 1}', "application/json"),
            (b"", "multipart/form-data; boundary=x"),
        ):
            assert admin_client.post(path, data=body, content_type=content_type).status_code == 400
    sp.refresh_from_db()
    assert sp.nameid_format == NameIDFormat.EMAIL


@pytest.mark.django_db(transaction=True)
def test_browser_admin_adds_and_edits_a_service_provider(admin_page, metadata, tenant, idp_metadata):
    page = admin_page
    page.goto(page.base)
    page.click("nav >> text=Single sign-on")
    page.wait_for_url("**/portal/saml/")
    assert page.inner_text("h1") == "Single sign-on"
    assert "No service providers yet" in page.content()
    metadata_url = page.inner_text("#idp-metadata-url")
    assert metadata_url.endswith("/t/acme/saml/idp/metadata")
    page.click("button[data-copy='#idp-metadata-url']")
    page.wait_for_selector("button[data-copy='#idp-metadata-url']:has-text('Copied')")
    assert page.evaluate("navigator.clipboard.readText()") == metadata_url

    page.fill("textarea[name=metadata]", "<not metadata")
    page.click("button:has-text('Add service provider')")
    assert "Not well-formed XML" in page.content()
    assert page.input_value("textarea[name=metadata]") == "<not metadata"  # kept what was typed
    page.fill("textarea[name=metadata]", metadata)
    page.fill("input[name=name]", "Team wiki")
    page.click("button:has-text('Add service provider')")
    page.wait_for_selector("text=Service provider Team wiki registered.")
    row = page.locator("tr", has_text="Team wiki")
    assert SP_ENTITY_ID in row.inner_text() and "Email address" in row.inner_text()

    row.locator("a:has-text('Team wiki')").click()
    screenshot(page, "saml-provider")
    page.select_option("select[name=nameid_format]", NameIDFormat.PERSISTENT)
    page.click("button:has-text('Save')")
    page.wait_for_selector("text=Service provider Team wiki saved.")
    assert "Persistent" in page.locator("tr", has_text="Team wiki").inner_text()
    assert ServiceProvider.objects.get(tenant=tenant).nameid_format == NameIDFormat.PERSISTENT
    screenshot(page, "saml")

    create_connection(tenant, "corp", "Corp SSO", idp_metadata, email_domains=["corp.example"])
    page.click("text=Identity provider connections")
    page.wait_for_url("**/portal/saml/connections/")
    assert page.get_attribute("a:has-text('Test sign-in')", "target") == "_blank"
    screenshot(page, "saml-connections")
    page.click("a:has-text('Corp SSO')")
    screenshot(page, "saml-connection")
