"""The provisioning rules every connection to an external identity provider carries (SAML and
OpenID Connect alike): which user fields it fills in, default groups, a group mapping, and the email
domains it serves. Checked the same way for both; each protocol names its fields and its words."""

from dataclasses import dataclass

from .domains.home_realm import domain_conflicts
from .policy import is_domain_name

MAX_NAME = 255
MAX_GROUP_NAME = 200  # tenants.Group.name


@dataclass(frozen=True)
class RuleNames:
    mapping: str  # the connection's mapping field, e.g. "claim_mapping"
    group_key: str  # the field naming where groups are read, e.g. "group_claim"
    source: str  # what a mapping reads: "claim", "attribute"
    sources: str  # "claim names", "SAML attribute names"
    provider: str  # "a provider", "an identity provider"
    value: str  # a group value as the provider sends it: "provider value", "IdP value"


def is_text(value, limit: int) -> bool:
    """Non-empty, at most `limit` characters, no surrounding spaces."""
    return isinstance(value, str) and bool(value.strip()) and len(value) <= limit and value == value.strip()


def check_provisioning_rules(connection, names: RuleNames, mapped_fields, refuse) -> None:
    """Report through `refuse(field, message)` what sign-in could not use."""
    mapping = getattr(connection, names.mapping)
    if not isinstance(mapping, dict):
        refuse(names.mapping, f"Expected user fields mapped to {names.sources}.")
    else:
        for field, source in mapping.items():
            if field not in mapped_fields:
                refuse(names.mapping, f"{field!r} is not a user field {names.provider} can fill in.")
            if not is_text(source, MAX_NAME):
                refuse(names.mapping, f"The {names.source} for {field!r} must be 1 to {MAX_NAME} characters.")
    groups = connection.default_groups
    if not isinstance(groups, list) or not all(is_text(g, MAX_GROUP_NAME) for g in groups):
        refuse("default_groups", f"Group names are 1 to {MAX_GROUP_NAME} characters.")
    if connection.group_mapping and not getattr(connection, names.group_key):
        refuse(names.group_key, f"Name the {names.source} whose values the group mapping reads.")
    group_mapping = connection.group_mapping
    if not isinstance(group_mapping, dict) or not all(
        is_text(value, MAX_NAME) and is_text(group, MAX_GROUP_NAME) for value, group in group_mapping.items()
    ):
        refuse("group_mapping", f"Each {names.value} maps to a group name of 1 to {MAX_GROUP_NAME} characters.")
    domains = connection.email_domains
    if not isinstance(domains, list) or not all(isinstance(d, str) and is_domain_name(d) for d in domains):
        refuse("email_domains", "Email domains look like corp.example (no @, no scheme).")
    else:
        # One domain, one connection (SAML or OpenID Connect): home-realm discovery must know where
        # to send an address.
        exclude = connection.connection_key if connection.pk else None
        for domain, other in domain_conflicts(connection.tenant, domains, exclude_key=exclude):
            refuse("email_domains", f"{domain} is already served by {other}.")
