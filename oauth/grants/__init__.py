"""Grant types the token endpoint serves beyond oauthlib's built-in ones, by their URNs.

`TenantServer` (oauth/server/oauthlib_server.py) builds one oauthlib grant per entry of
`extension_grants`, so a new grant is one class and one entry here; discovery advertises exactly
what the token endpoint dispatches.
"""

DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # RFC 8693 §2.1
CIBA = "urn:openid:params:grant-type:ciba"  # CIBA Core §10.1

CORE_GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
TOKEN_ENDPOINT_GRANT_TYPES = (*CORE_GRANT_TYPES, DEVICE_CODE, TOKEN_EXCHANGE, CIBA)


def extension_grants(request_validator) -> dict:
    """{grant_type URN: oauthlib grant instance} for the token endpoint."""
    from .ciba import CIBAGrant
    from .device_code import DeviceCodeGrant
    from .token_exchange import TokenExchangeGrant

    return {
        DEVICE_CODE: DeviceCodeGrant(request_validator),
        TOKEN_EXCHANGE: TokenExchangeGrant(request_validator),
        CIBA: CIBAGrant(request_validator),
    }
