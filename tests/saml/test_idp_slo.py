"""SP-initiated single logout at the tenant's IdP, with a real pysaml2 SP."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from saml2 import BINDING_HTTP_REDIRECT
from saml2.samlp import STATUS_SUCCESS

from lumoauth.events.models import AuditEvent

from .conftest import SP_SLO
from .test_idp_options import sign_in_via_sp

pytestmark = pytest.mark.django_db(transaction=True)


def test_sp_initiated_logout_ends_the_tenant_session(saml_sp, idp_base, browser, live_server, alice):
    client, _ = saml_sp
    response, _ = sign_in_via_sp(client, idp_base, browser)
    assert browser.session.get(f"{live_server.url}/t/acme/account", allow_redirects=False).status_code == 200
    outcome = client.global_logout(response.name_id, reason="done", sign=True)
    binding, http_info = outcome[f"{idp_base}/metadata"]
    assert binding == BINDING_HTTP_REDIRECT
    answer = browser.session.get(dict(http_info["headers"])["Location"], allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(SP_SLO + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    assert "Signature" in query  # the IdP signs its HTTP-Redirect answer
    logout_response = client.parse_logout_request_response(query["SAMLResponse"], BINDING_HTTP_REDIRECT)
    assert logout_response.response.status.status_code.value == STATUS_SUCCESS
    assert browser.session.get(f"{live_server.url}/t/acme/account", allow_redirects=False).status_code == 302
    assert AuditEvent.objects.filter(action="saml.slo.succeeded").exists()
    assert AuditEvent.objects.filter(action="logout", actor_id=str(alice.pk)).exists()


def test_unsigned_or_garbage_logout_requests_are_refused(saml_sp, idp_base, browser, live_server, alice):
    client, _ = saml_sp
    response, _ = sign_in_via_sp(client, idp_base, browser)
    outcome = client.global_logout(response.name_id, reason="done", sign=True)
    location = dict(outcome[f"{idp_base}/metadata"][1]["headers"])["Location"]
    unsigned = location.split("&SigAlg=")[0]
    assert requests.get(unsigned, allow_redirects=False, timeout=10).status_code == 400
    tampered = location.replace("Signature=", "Signature=AAAA")
    assert browser.session.get(tampered, allow_redirects=False, timeout=10).status_code == 400
    for query in ("", "?SAMLRequest=junk", "?SAMLRequest=junk&Signature=x&SigAlg=y"):
        assert requests.get(f"{idp_base}/slo{query}", allow_redirects=False, timeout=10).status_code == 400
    # Still signed in: nothing was ended by the refused requests.
    assert browser.session.get(f"{live_server.url}/t/acme/account", allow_redirects=False).status_code == 200


def test_logout_reaches_every_other_service_provider(saml_sp, tmp_path, tenant, idp_base, browser, live_server, alice):
    """SP 1 starts single logout; the IdP sends a LogoutRequest to SP 2, then answers SP 1."""
    from saml2.client import Saml2Client

    from saml.services.service_providers import register_from_metadata

    from .conftest import make_keypair, sp_config, sp_metadata

    first, _ = saml_sp
    keypair = make_keypair(tmp_path, "second-sp")
    register_from_metadata(tenant, sp_metadata(sp_config(keypair, entity_id="https://sp2.example.com/metadata")))
    idp_metadata = requests.get(f"{idp_base}/metadata", timeout=10).text
    second = Saml2Client(sp_config(keypair, idp_metadata, entity_id="https://sp2.example.com/metadata"))
    first_response, _ = sign_in_via_sp(first, idp_base, browser)
    second_response, _ = sign_in_via_sp(second, idp_base, browser)
    assert second_response is not None

    outcome = first.global_logout(first_response.name_id, reason="done", sign=True)
    to_idp = dict(outcome[f"{idp_base}/metadata"][1]["headers"])["Location"]
    to_second = browser.session.get(to_idp, allow_redirects=False, timeout=10)
    assert to_second.status_code == 302 and to_second.headers["Location"].startswith(SP_SLO)
    query = {k: v[0] for k, v in parse_qs(urlsplit(to_second.headers["Location"]).query).items()}
    # SP 2 (pysaml2) handles the IdP's LogoutRequest and answers it.
    answer = second.handle_logout_request(
        query["SAMLRequest"],
        second_response.name_id,
        BINDING_HTTP_REDIRECT,
        sigalg=query.get("SigAlg"),
        signature=query.get("Signature"),
    )
    back_to_idp = dict(answer["headers"])["Location"]
    final = browser.session.get(back_to_idp, allow_redirects=False, timeout=10)
    assert final.status_code == 302 and final.headers["Location"].startswith(SP_SLO)
    final_query = {k: v[0] for k, v in parse_qs(urlsplit(final.headers["Location"]).query).items()}
    logout_response = first.parse_logout_request_response(final_query["SAMLResponse"], BINDING_HTTP_REDIRECT)
    assert logout_response.response.status.status_code.value == STATUS_SUCCESS
    assert logout_response.response.status.status_code.status_code is None  # not PartialLogout
    assert browser.session.get(f"{live_server.url}/t/acme/account", allow_redirects=False).status_code == 302


def _logout_request_to_sp(client, location: str, name_id):
    """The SP (pysaml2) handles our LogoutRequest; returns the URL of its LogoutResponse to us."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    answer = client.handle_logout_request(
        query["SAMLRequest"],
        name_id,
        BINDING_HTTP_REDIRECT,
        sigalg=query.get("SigAlg"),
        signature=query.get("Signature"),
    )
    return dict(answer["headers"])["Location"]


def test_signing_out_on_the_tenants_page_signs_the_service_provider_out(saml_sp, idp_base, browser, live_server, alice):
    """SAML profiles §4.4.3: the IdP MUST attempt to tell every session participant (IdP-initiated SLO)."""
    import re

    client, _ = saml_sp
    response, _ = sign_in_via_sp(client, idp_base, browser)
    page = browser.session.get(f"{live_server.url}/t/acme/logout", timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    to_sp = browser.session.post(
        f"{live_server.url}/t/acme/logout",
        data={"csrfmiddlewaretoken": csrf},
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    assert to_sp.status_code == 302 and to_sp.headers["Location"].startswith(SP_SLO + "?")
    # The tenant session is already over; the SP answers, and the browser ends at the sign-in page.
    assert browser.session.get(f"{live_server.url}/t/acme/account", allow_redirects=False).status_code == 302
    back = browser.session.get(
        _logout_request_to_sp(client, to_sp.headers["Location"], response.name_id), allow_redirects=False, timeout=10
    )
    assert back.status_code == 302 and back.headers["Location"] == "/t/acme/login"
    done = AuditEvent.objects.get(action="saml.slo.succeeded")
    assert done.outcome == "success" and done.details == {"partial": False, "initiator": "idp"}
    assert AuditEvent.objects.filter(action="logout", actor_id=str(alice.pk)).exists()


def test_an_oidc_clients_logout_signs_the_service_provider_out_then_returns(
    saml_sp, idp_base, browser, live_server, alice, tenant
):
    """RP-initiated logout (OIDC) ends the tenant session: the SAML SPs of that session too, then the
    browser goes back to the client's post_logout_redirect_uri with its state."""
    import re

    from oauth.services.clients import ClientSpec, create_client

    app, _ = create_client(
        tenant,
        ClientSpec(
            name="App",
            redirect_uris=["https://app.example.com/cb"],
            post_logout_redirect_uris=["https://app.example.com/bye"],
        ),
    )
    client, _ = saml_sp
    response, _ = sign_in_via_sp(client, idp_base, browser)
    logout = f"{live_server.url}/t/acme/api/v1/oauth/logout"
    params = {"client_id": app.client_id, "post_logout_redirect_uri": "https://app.example.com/bye", "state": "s1"}
    page = browser.session.get(logout, params=params, timeout=10)
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    to_sp = browser.session.post(
        logout,
        data={**params, "confirm": "yes", "csrfmiddlewaretoken": csrf},
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    assert to_sp.status_code == 302 and to_sp.headers["Location"].startswith(SP_SLO + "?")
    back = browser.session.get(
        _logout_request_to_sp(client, to_sp.headers["Location"], response.name_id), allow_redirects=False, timeout=10
    )
    assert back.status_code == 302 and back.headers["Location"] == "https://app.example.com/bye?state=s1"
