"""The SCIM User resource (RFC 7643 §4.1) over the tenant directory's users, as a django-scim2
adapter. Every change goes through tenants.services, so it is audited with the SCIM token as actor."""

import hashlib
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django_scim import exceptions
from django_scim.adapters import SCIMUser

from lumoauth.urls_public import base_url
from tenants.services.users import DirectoryConflict, create_user, delete_user, set_active, update_user

from .tokens import token_ref

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# SCIM attribute path -> user field, for filters, sorting and PATCH paths.
ATTRIBUTES = {
    ("id", None, None): "sub",
    ("externalId", None, None): "external_id",
    ("userName", None, None): "username",
    ("displayName", None, None): "name",
    ("nickName", None, None): "nickname",
    ("profileUrl", None, None): "profile",
    ("locale", None, None): "locale",
    ("timezone", None, None): "zoneinfo",
    ("active", None, None): "is_active",
    ("name", "formatted", None): "name",
    ("name", "givenName", None): "given_name",
    ("name", "familyName", None): "family_name",
    ("name", "middleName", None): "middle_name",
    ("emails", None, None): "email",
    ("emails", "value", None): "email",
    ("phoneNumbers", None, None): "phone_number",
    ("phoneNumbers", "value", None): "phone_number",
    ("meta", "created", None): "date_joined",
    ("meta", "lastModified", None): "updated_at",
}


def _lower(path: tuple) -> tuple:
    return tuple(p.lower() if isinstance(p, str) else p for p in path)


FIELD_FOR = {_lower(k): v for k, v in ATTRIBUTES.items()}


def field_for(path: tuple) -> str | None:
    return FIELD_FOR.get(_lower(path))


def _primary(values, key="value") -> str:
    if not isinstance(values, list) or not values:
        return ""
    chosen = next((v for v in values if isinstance(v, dict) and v.get("primary")), values[0])
    return str(chosen.get(key, "")) if isinstance(chosen, dict) else str(chosen)


VALUE_FILTER_PATH = re.compile(r"^(\w+)\[[^\]]*\](?:\.(\w+))?$")
ENTERPRISE_ATTRIBUTES = ("employeeNumber", "costCenter", "organization", "division", "department", "manager")


def _enterprise_value(name: str, value):
    """A valid value of an enterprise attribute ("manager" is {"value": id} or an id)."""
    if name == "manager":
        value = value.get("value") if isinstance(value, dict) else value
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise exceptions.BadRequestError(f"{name} must be a string.", scim_type="invalidValue")
    return value


def enterprise_from(extension) -> dict:
    if extension is None:
        return {}
    if not isinstance(extension, dict):
        raise exceptions.BadRequestError("The enterprise extension must be an object.", scim_type="invalidValue")
    found = {}
    for name in ENTERPRISE_ATTRIBUTES:
        value = _enterprise_value(name, extension.get(name))
        if value is not None:
            found[name] = value
    return found


def fields_from_resource(d: dict) -> dict:
    """User fields from a full SCIM User resource (POST, PUT): absent attributes are cleared."""
    name = d.get("name") if isinstance(d.get("name"), dict) else {}
    fields = {
        "username": d.get("userName") or "",
        "external_id": d.get("externalId") or "",
        "given_name": name.get("givenName") or "",
        "family_name": name.get("familyName") or "",
        "middle_name": name.get("middleName") or "",
        "name": d.get("displayName") or name.get("formatted") or "",
        "nickname": d.get("nickName") or "",
        "profile": d.get("profileUrl") or "",
        "locale": d.get("locale") or "",
        "zoneinfo": d.get("timezone") or "",
        "email": _primary(d.get("emails")),
        "phone_number": _primary(d.get("phoneNumbers")),
    }
    enterprise = enterprise_from(d.get(ENTERPRISE_SCHEMA))
    if not all(isinstance(v, str) for v in fields.values()):
        raise exceptions.BadRequestError("String attributes must be strings.", scim_type="invalidValue")
    if not fields["username"]:
        raise exceptions.BadRequestError("userName is required.", scim_type="invalidValue")
    fields["enterprise"] = enterprise
    return fields


class TenantSCIMUser(SCIMUser):
    id_field = "sub"

    @property
    def id(self) -> str:
        return str(self.obj.sub)

    @property
    def location(self) -> str:
        return f"{base_url(self.request)}/t/{self.request.tenant.slug}/scim/v2/Users/{self.id}"

    @property
    def version(self) -> str:
        stamp = self.obj.updated_at.isoformat() if self.obj.updated_at else ""
        return 'W/"' + hashlib.sha256(f"{self.obj.pk}:{stamp}".encode()).hexdigest()[:16] + '"'

    def to_dict(self) -> dict:
        user = self.obj
        d = {
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "id": self.id,
            "userName": user.username,
            "name": {
                k: v
                for k, v in {
                    "givenName": user.given_name,
                    "familyName": user.family_name,
                    "middleName": user.middle_name,
                    "formatted": user.get_full_name(),
                }.items()
                if v
            },
            "displayName": user.get_full_name(),
            "active": user.is_active,
            "emails": [{"value": user.email, "primary": True, "type": "work"}] if user.email else [],
            "groups": [{"value": str(g.pk), "display": g.name} for g in user.directory_groups.all()] if user.pk else [],
            ENTERPRISE_SCHEMA: {k: ({"value": v} if k == "manager" else v) for k, v in (user.enterprise or {}).items()},
            "meta": {
                "resourceType": "User",
                "location": self.location,
                "version": self.version,
                "created": user.date_joined.isoformat() if user.date_joined else None,
                "lastModified": user.updated_at.isoformat() if user.updated_at else None,
            },
        }
        for key, value in (
            ("externalId", user.external_id),
            ("nickName", user.nickname),
            ("profileUrl", user.profile),
            ("locale", user.locale),
            ("timezone", user.zoneinfo),
        ):
            if value:
                d[key] = value
        if user.phone_number:
            d["phoneNumbers"] = [{"value": user.phone_number, "primary": True, "type": "work"}]
        return d

    # ---- writes ----------------------------------------------------------------------------------
    def from_dict(self, d: dict) -> None:
        self._fields = fields_from_resource(d)
        self._active = d.get("active")
        if self._active is not None and not isinstance(self._active, bool):
            raise exceptions.BadRequestError("active must be a boolean.", scim_type="invalidValue")

    def _actor(self):
        return token_ref(self.request.scim_token)

    def save(self) -> None:
        fields, active = self._fields, self._active
        try:
            with transaction.atomic():
                if self.obj.pk is None:
                    self.obj = create_user(
                        self.request.tenant, fields.pop("username"), actor=self._actor(), request=self.request, **fields
                    )
                else:
                    update_user(self.obj, actor=self._actor(), request=self.request, **fields)
                if active is not None:
                    set_active(self.obj, active, actor=self._actor(), request=self.request)
        except DirectoryConflict as exc:
            raise exceptions.IntegrityError(" ".join(exc.messages), scim_type="uniqueness") from exc
        except ValidationError as exc:
            raise exceptions.BadRequestError(" ".join(exc.messages), scim_type="invalidValue") from exc

    def delete(self) -> None:
        delete_user(self.obj, actor=self._actor(), request=self.request)

    # ---- PATCH (RFC 7644 §3.5.2) ---------------------------------------------------------------
    def handle_operations(self, operations) -> None:
        if not isinstance(operations, list):
            raise exceptions.BadRequestError("Operations must be an array.", scim_type="invalidSyntax")
        self._fields, self._active = {}, None
        for operation in operations:
            if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
                raise exceptions.BadRequestError("Each operation needs an op.", scim_type="invalidSyntax")
            if self._enterprise_operation(operation) or self._value_filter_operation(operation):
                continue
            try:
                pairs = self.parse_path_and_values(operation.get("path"), operation.get("value"))
            except (ValueError, TypeError, AttributeError) as exc:
                raise exceptions.BadRequestError(str(exc), scim_type="invalidPath") from exc
            for path, value in pairs:
                self.handle_path_and_value(path, value, operation)
        self.save()

    def _enterprise_operation(self, operation: dict) -> bool:
        """Paths of the enterprise extension, which Entra ID sends fully qualified
        ("urn:...:enterprise:2.0:User:department"); True when handled here."""
        path, value, remove = operation.get("path"), operation.get("value"), operation["op"].lower() == "remove"
        if path is None and isinstance(value, dict):
            changes = {
                k[len(ENTERPRISE_SCHEMA) + 1 :]: v
                for k, v in value.items()
                if isinstance(k, str) and k.startswith(ENTERPRISE_SCHEMA + ":")
            }
            if isinstance(value.get(ENTERPRISE_SCHEMA), dict):
                changes.update(value[ENTERPRISE_SCHEMA])
            for key in [k for k in value if isinstance(k, str) and k.startswith(ENTERPRISE_SCHEMA)]:
                value.pop(key)
            for name, item in changes.items():
                self._set_enterprise(name, item, remove)
            return not value  # handled everything unless other attributes remain
        if isinstance(path, str) and path.startswith(ENTERPRISE_SCHEMA):
            name = path[len(ENTERPRISE_SCHEMA) :].lstrip(":").split(".")[0]
            if not name:
                for sub, item in (value or {}).items() if isinstance(value, dict) else []:
                    self._set_enterprise(sub, item, remove)
            else:
                self._set_enterprise(name, value, remove)
            return True
        return False

    def _value_filter_operation(self, operation: dict) -> bool:
        """'emails[type eq "work"].value' and the like: we keep one value per multi-valued
        attribute (the primary), so the filter selects it; True when handled here."""
        path = operation.get("path")
        match = VALUE_FILTER_PATH.match(path.strip()) if isinstance(path, str) else None
        if match is None:
            return False
        field = field_for((match.group(1), match.group(2) or "value", None))
        if field not in ("email", "phone_number"):
            raise exceptions.BadRequestError(f"Cannot change {path}.", scim_type="invalidPath")
        value = operation.get("value")
        if isinstance(value, dict):
            value = value.get("value")
        if operation["op"].lower() != "remove" and not isinstance(value, str):
            raise exceptions.BadRequestError(f"{path} must be a string.", scim_type="invalidValue")
        self._fields[field] = "" if operation["op"].lower() == "remove" else value
        return True

    def _set_enterprise(self, name: str, value, remove: bool) -> None:
        if name not in ENTERPRISE_ATTRIBUTES:
            raise exceptions.BadRequestError(f"Unknown enterprise attribute {name}.", scim_type="invalidPath")
        enterprise = dict(self._fields.get("enterprise", self.obj.enterprise or {}))
        cleaned = None if remove else _enterprise_value(name, value)
        if cleaned is None:
            enterprise.pop(name, None)
        else:
            enterprise[name] = cleaned
        self._fields["enterprise"] = enterprise

    def _set(self, path, value, *, remove: bool = False) -> None:
        target = path.first_path if path is not None else None
        if target is not None and _lower(target) == ("name", None, None) and isinstance(value, dict):
            for sub, sub_value in value.items():  # "name": {"givenName": ...}
                field = field_for(("name", sub, None))
                if field:
                    self._fields[field] = "" if remove else str(sub_value or "")
            return
        field = field_for(target) if target else None
        if field is None or field in ("sub", "date_joined", "updated_at"):
            raise exceptions.BadRequestError(
                f"Attribute {target} cannot be changed.", scim_type="mutability" if field else "invalidPath"
            )
        if field == "is_active":
            if remove or not isinstance(value, bool):
                # Entra ID sends "False"/"True" strings.
                if isinstance(value, str) and value.lower() in ("true", "false"):
                    value = value.lower() == "true"
                else:
                    raise exceptions.BadRequestError("active must be a boolean.", scim_type="invalidValue")
            self._active = value
            return
        if isinstance(value, list):
            value = _primary(value)
        elif isinstance(value, dict):
            value = str(value.get("value", ""))
        self._fields[field] = "" if remove else ("" if value is None else str(value))
        if field == "username" and not self._fields[field]:
            raise exceptions.BadRequestError("userName cannot be empty.", scim_type="invalidValue")

    def _default_validate_op(self, path, value, operation) -> None:
        """Values are checked in _set, which also accepts Entra ID's "True"/"False" strings."""

    def handle_add(self, path, value, operation) -> None:
        self._set(path, value)

    def handle_replace(self, path, value, operation) -> None:
        self._set(path, value)

    def handle_remove(self, path, value, operation) -> None:
        self._set(path, value, remove=True)
