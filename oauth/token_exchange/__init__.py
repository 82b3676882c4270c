"""OAuth 2.0 Token Exchange (RFC 8693) at the token endpoint.

`token_types` names the token types; `parties` turns a presented subject or actor token into who it
stands for (tokens of this tenant, JWTs of trusted external issuers, SAML assertions of the tenant's
IdP connections); `exchange` decides what may be issued (client policy, delegation or impersonation,
audiences, down-scoping, the nested `act` claim); oauth/grants/token_exchange.py issues and audits it.
"""
