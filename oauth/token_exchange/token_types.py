"""Token type identifiers (RFC 8693 §3)."""

ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
REFRESH_TOKEN = "urn:ietf:params:oauth:token-type:refresh_token"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
JWT = "urn:ietf:params:oauth:token-type:jwt"
SAML2 = "urn:ietf:params:oauth:token-type:saml2"
# Spelled this way in some vendors' documentation (our reference document among them): the same type.
SAML2_ALIAS = "urn:ietf:params:saml:token-type:saml2"

SUBJECT_TOKEN_TYPES = {ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN, JWT, SAML2, SAML2_ALIAS}
ACTOR_TOKEN_TYPES = {ACCESS_TOKEN, ID_TOKEN, JWT}
REQUESTED_TOKEN_TYPES = {ACCESS_TOKEN, ID_TOKEN, JWT}


def canonical(token_type: str) -> str:
    return SAML2 if token_type == SAML2_ALIAS else token_type
