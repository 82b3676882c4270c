"""Single logout started by the corporate IdP (a real pysaml2 IdP) at the tenant's SP."""

from urllib.parse import parse_qs, urlsplit

import pytest
from saml2 import BINDING_HTTP_REDIRECT
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NameID
from saml2.samlp import STATUS_SUCCESS

from .conftest import IDP_SLO
from .test_sp_federation import sign_in_at_corp

pytestmark = pytest.mark.django_db(transaction=True)


def logout_location(idp, live_server, sign=True):
    request_id, request = idp.create_logout_request(
        f"{live_server.url}/t/acme/saml/sp/slo",
        f"{live_server.url}/t/acme/saml/sp/metadata",
        name_id=NameID(format=NAMEID_FORMAT_PERSISTENT, text="emp-001"),
        sign=False,
    )
    http_args = idp.apply_binding(
        BINDING_HTTP_REDIRECT,
        str(request),
        f"{live_server.url}/t/acme/saml/sp/slo",
        "rs",
        sign=sign,
        sigalg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    )
    return request_id, dict(http_args["headers"])["Location"]


def test_idp_initiated_logout_ends_the_tenant_session(corp, browser, live_server):
    idp, _ = corp
    assert sign_in_at_corp(browser, live_server, idp).status_code == 302
    assert browser.session.get(f"{live_server.url}/t/acme/account", allow_redirects=False).status_code == 200
    _request_id, location = logout_location(idp, live_server)
    answer = browser.session.get(location, allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(IDP_SLO + "?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}
    response = idp.parse_logout_request_response(query["SAMLResponse"], BINDING_HTTP_REDIRECT)
    assert response.response.status.status_code.value == STATUS_SUCCESS
    assert browser.session.get(f"{live_server.url}/t/acme/account", allow_redirects=False).status_code == 302


def test_unsigned_idp_logout_is_refused(corp, browser, live_server):
    idp, _ = corp
    sign_in_at_corp(browser, live_server, idp)
    _request_id, location = logout_location(idp, live_server, sign=False)
    assert browser.session.get(location, allow_redirects=False, timeout=10).status_code == 400
    tampered = logout_location(idp, live_server)[1].replace("Signature=", "Signature=AAAA")
    assert browser.session.get(tampered, allow_redirects=False, timeout=10).status_code == 400
    assert browser.session.get(f"{live_server.url}/t/acme/account", allow_redirects=False).status_code == 200
