"""Email domains a tenant has proven it controls, and the sign-in routing they allow.

models.py (DomainClaim), claims.py (claim and verify, audited), dns_check.py (the TXT lookup),
home_realm.py (the registry of external sign-in connections and home-realm discovery).
"""
