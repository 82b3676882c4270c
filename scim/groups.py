"""The SCIM Group resource (RFC 7643 §4.2) over the tenant directory's groups, as a django-scim2
adapter; memberships change through tenants.services (audited, actor: the SCIM token)."""

import hashlib
import re
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django_scim import exceptions
from django_scim.adapters import SCIMGroup

from lumoauth.urls_public import base_url
from tenants.models import User
from tenants.services.groups import add_member, create_group, delete_group, remove_member, update_group

from .tokens import token_ref

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ATTRIBUTES = {
    ("id", None, None): "uid",
    ("externalId", None, None): "external_id",
    ("displayName", None, None): "name",
    ("members", None, None): "members__sub",
    ("members", "value", None): "members__sub",
    ("meta", "created", None): "created_at",
    ("meta", "lastModified", None): "updated_at",
}
# members[value eq "<id>"], as Okta and Entra ID address one member in PATCH paths.
MEMBER_PATH = re.compile(r'^members\[\s*value\s+eq\s+"([^"]+)"\s*\]$', re.IGNORECASE)


def _member_ids(value) -> list[str]:
    values = value if isinstance(value, list) else [value]
    ids = []
    for item in values:
        member = item.get("value") if isinstance(item, dict) else item
        if not isinstance(member, str):
            raise exceptions.BadRequestError("Members are given by their id.", scim_type="invalidValue")
        ids.append(member)
    return ids


class TenantSCIMGroup(SCIMGroup):
    id_field = "uid"
    include_members = True

    @property
    def id(self) -> str:
        return str(self.obj.uid)

    @property
    def location(self) -> str:
        return f"{base_url(self.request)}/t/{self.request.tenant.slug}/scim/v2/Groups/{self.id}"

    @property
    def version(self) -> str:
        stamp = self.obj.updated_at.isoformat() if self.obj.updated_at else ""
        return 'W/"' + hashlib.sha256(f"{self.obj.pk}:{stamp}".encode()).hexdigest()[:16] + '"'

    def to_dict(self) -> dict:
        group = self.obj
        d = {
            "schemas": [GROUP_SCHEMA],
            "id": self.id,
            "displayName": group.name,
            "meta": {
                "resourceType": "Group",
                "location": self.location,
                "version": self.version,
                "created": group.created_at.isoformat() if group.created_at else None,
                "lastModified": group.updated_at.isoformat() if group.updated_at else None,
            },
        }
        if group.external_id:
            d["externalId"] = group.external_id
        if self.include_members and group.pk:
            base = f"{base_url(self.request)}/t/{self.request.tenant.slug}/scim/v2/Users/"
            # RFC 7643 §8.7.1: a member has value, $ref and type.
            d["members"] = [
                {"value": str(sub), "type": "User", "$ref": base + str(sub)}
                for sub in group.members.values_list("sub", flat=True).iterator()
            ]
        return d

    # ---- writes ----------------------------------------------------------------------------------
    def _actor(self):
        return token_ref(self.request.scim_token)

    def _users(self, ids: list[str]) -> list[User]:
        subs = []
        for value in ids:
            try:
                subs.append(uuid.UUID(value))
            except ValueError as exc:
                raise exceptions.BadRequestError(f"No user {value}.", scim_type="invalidValue") from exc
        users = list(User.objects.filter(tenant=self.request.tenant, sub__in=subs))
        if len(users) != len(set(subs)):
            raise exceptions.BadRequestError(
                "Some members are not users of this organization.", scim_type="invalidValue"
            )
        return users

    def from_dict(self, d: dict) -> None:
        name = d.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise exceptions.BadRequestError("displayName is required.", scim_type="invalidValue")
        external_id = d.get("externalId") or ""
        if not isinstance(external_id, str):
            raise exceptions.BadRequestError("externalId must be a string.", scim_type="invalidValue")
        self._changes = {"name": name.strip(), "external_id": external_id}
        self._members = _member_ids(d["members"]) if "members" in d else None

    def save(self) -> None:
        try:
            with transaction.atomic():
                if self.obj.pk is None:
                    self.obj = create_group(
                        self.request.tenant,
                        self._changes["name"],
                        external_id=self._changes["external_id"],
                        actor=self._actor(),
                        request=self.request,
                    )
                elif self._changes:
                    update_group(self.obj, actor=self._actor(), request=self.request, **self._changes)
                if self._members is not None:
                    self._replace_members(self._members)
        except ValidationError as exc:
            raise exceptions.IntegrityError(" ".join(exc.messages), scim_type="uniqueness") from exc

    def _replace_members(self, ids: list[str]) -> None:
        wanted = {u.pk: u for u in self._users(ids)}
        current = set(self.obj.memberships.values_list("user_id", flat=True))
        for user in User.objects.filter(pk__in=current - set(wanted)):
            remove_member(self.obj, user, actor=self._actor(), request=self.request)
        for pk in set(wanted) - current:
            add_member(self.obj, wanted[pk], actor=self._actor(), request=self.request)

    def delete(self) -> None:
        delete_group(self.obj, actor=self._actor(), request=self.request)

    # ---- PATCH (RFC 7644 §3.5.2) ---------------------------------------------------------------
    def handle_operations(self, operations) -> None:
        if not isinstance(operations, list) or not operations:
            raise exceptions.BadRequestError("Operations must be a non-empty array.", scim_type="invalidSyntax")
        self._changes, self._members = {}, None
        with transaction.atomic():
            for operation in operations:
                if not isinstance(operation, dict) or not isinstance(operation.get("op"), str):
                    raise exceptions.BadRequestError("Each operation needs an op.", scim_type="invalidSyntax")
                self._apply(operation["op"].lower(), operation.get("path"), operation.get("value"))
            if self._changes:
                try:
                    update_group(self.obj, actor=self._actor(), request=self.request, **self._changes)
                except ValidationError as exc:
                    raise exceptions.IntegrityError(" ".join(exc.messages), scim_type="uniqueness") from exc

    def _apply(self, op: str, path, value) -> None:
        if op not in ("add", "remove", "replace"):
            raise exceptions.BadRequestError(f"Unknown op {op}.", scim_type="invalidSyntax")
        if path is None:
            if op == "remove" or not isinstance(value, dict):
                raise exceptions.BadRequestError("This operation needs a path.", scim_type="noTarget")
            for key, item in value.items():
                self._apply(op, key, item)
            return
        if not isinstance(path, str):
            raise exceptions.BadRequestError("path must be a string.", scim_type="invalidPath")
        member = MEMBER_PATH.match(path.strip())
        key = path.strip().lower()
        if member and op == "remove":
            for user in self._users([member.group(1)]):
                remove_member(self.obj, user, actor=self._actor(), request=self.request)
        elif key == "members":
            if op == "add":
                for user in self._users(_member_ids(value)):
                    add_member(self.obj, user, actor=self._actor(), request=self.request)
            elif op == "remove":
                users = self._users(_member_ids(value)) if value else list(self.obj.members.all())
                for user in users:
                    remove_member(self.obj, user, actor=self._actor(), request=self.request)
            else:
                self._replace_members(_member_ids(value or []))
        elif key in ("displayname", "externalid"):
            if op == "remove" and key == "displayname":
                raise exceptions.BadRequestError("displayName is required.", scim_type="mutability")
            if value is not None and not isinstance(value, str):
                raise exceptions.BadRequestError(f"{path} must be a string.", scim_type="invalidValue")
            self._changes["name" if key == "displayname" else "external_id"] = "" if op == "remove" else value
        else:
            raise exceptions.BadRequestError(f"Cannot change {path}.", scim_type="invalidPath")
