"""Inbound OpenID Connect federation: the tenant as a relying party of external OpenID Providers
(Google, Microsoft Entra ID, any discovery-configured provider) and of GitHub's OAuth 2.0.

models.py (OIDCConnection), presets.py, provider_metadata.py (discovery), provider_keys.py (JWKS),
id_token.py (ID token validation), user_claims.py (claims -> ExternalIdentity), github.py,
flow.py (start/finish the authorization code flow), services.py (audited changes), views.py.
"""
