# ruff: noqa: F811 - the shared fixtures imported below are parameters of the tests
"""The portal's SAML section: service providers (the tenant as IdP) and IdP connections (the tenant
as SP), through the Django test client and once in a real browser."""

import html

import pytest
from django.test import Client

from lumoauth.events.models import AuditEvent
from saml.models import IdPConnection, NameIDFormat, ServiceProvider
from saml.services.idp_connections import create_connection
from saml.services.service_providers import register_from_metadata
from tests.conftest import PASSWORD
from tests.saml.conftest import SP_ENTITY_ID

from .conftest import screenshot
from .saml_support import (  # noqa: F401 (fixtures, and the key pairs they use)
    CONNECTIONS,
    SAML,
    admin_actions,
    connection_form,
    idp_keypair,
    idp_metadata,
    keypair,
    metadata,
    sp_form,
    without_certificate,
)

pytestmark = pytest.mark.django_db


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
