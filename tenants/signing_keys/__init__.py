"""Per-tenant signing keys: generation, rotation, encryption at rest, JWKS.

Import the public functions from `tenants.signing_keys.api`; this package's __init__ stays free of
model imports so Django can load the app registry first. See docs/signing-keys.md.
"""
