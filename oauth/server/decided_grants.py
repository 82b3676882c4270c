"""The validator's part for grants that redeem a decision a person took elsewhere - the device
flow (RFC 8628 §3.5) and CIBA (CIBA Core §10, §11): the status of the code at the token endpoint
and, once approved, whom and what the tokens are for."""

from ..ciba import authentications as ciba_authentications
from ..device import authorizations as device_authorizations


class DecidedGrantsMixin:
    def validate_device_code(self, client_id, code, request, *args, **kwargs):
        status, grant = device_authorizations.poll(self.tenant(request), request.client, code)
        return _redeemed(status == device_authorizations.AUTHORIZED, status, grant, request)

    def validate_auth_req_id(self, auth_req_id, request):
        status, authentication = ciba_authentications.poll(self.tenant(request), request.client, auth_req_id)
        return _redeemed(status == ciba_authentications.AUTHORIZED, status, authentication, request)


def _redeemed(approved: bool, status: str | None, decision, request) -> str | None:
    """An approved code was redeemed just now: the tokens are for its user, scopes and sign-in."""
    if approved:
        request.user = decision.user
        request.scopes = decision.scope.split()
        request.auth_time = decision.auth_time
        request.amr = decision.amr
    return status
