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
