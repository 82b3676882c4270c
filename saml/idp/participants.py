"""Which service providers this browser signed in to through the tenant's IdP, for single logout
(SAML profiles §4.4.3.4: the IdP sends a LogoutRequest to every other session participant)."""

from saml2.saml import NameID

PARTICIPANTS_KEY = "_lumoauth_saml_participants"


def remember(request, tenant, sp, name_id: NameID) -> None:
    everyone = dict(request.session.get(PARTICIPANTS_KEY, {}))
    mine = [p for p in everyone.get(str(tenant.pk), []) if p["sp"] != sp.pk]
    mine.append(
        {
            "sp": sp.pk,
            "name_id": name_id.text,
            "format": name_id.format,
            "sp_name_qualifier": name_id.sp_name_qualifier,
            "name_qualifier": name_id.name_qualifier,
        }
    )
    everyone[str(tenant.pk)] = mine[-20:]
    request.session[PARTICIPANTS_KEY] = everyone


def take_all(request, tenant) -> list[dict]:
    everyone = dict(request.session.get(PARTICIPANTS_KEY, {}))
    mine = everyone.pop(str(tenant.pk), [])
    request.session[PARTICIPANTS_KEY] = everyone
    return mine


def as_name_id(participant: dict) -> NameID:
    return NameID(
        text=participant["name_id"],
        format=participant["format"],
        sp_name_qualifier=participant["sp_name_qualifier"],
        name_qualifier=participant["name_qualifier"],
    )
