"""Forms of the portal's SAML section; the saml services validate what the fields mean."""

import re

from django import forms
from django.core.exceptions import ValidationError

from saml.models import NameIDFormat
from saml.services.idp_connections import MAPPED_FIELDS
from saml.services.service_providers import RELEASABLE_FIELDS
from saml.sp_metadata import MAX_METADATA_BYTES

MAX_TEXTAREA = 20_000
METADATA_WIDGET = forms.Textarea(attrs={"rows": 10, "cols": 70, "spellcheck": "false"})


def parse_pairs(text: str, left: str, right: str) -> dict[str, str]:
    """'left = right' lines into a dict (blank lines skipped); a broken line is an error naming it."""
    pairs: dict[str, str] = {}
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = (part.strip() for part in line.partition("="))
        if not sep or not key or not value:
            problems.append(f"Line {number}: write “{left} = {right}”.")
        elif key in pairs:
            problems.append(f"Line {number}: {key} appears twice.")
        else:
            pairs[key] = value
    if problems:
        raise ValidationError(problems)
    return pairs


def format_pairs(pairs: dict) -> str:
    return "\n".join(f"{key} = {value}" for key, value in pairs.items())


def _fields_help(fields) -> str:
    return "User fields: " + ", ".join(f"<code>{f}</code>" for f in sorted(fields)) + "."


class PairsField(forms.CharField):
    """A textarea of 'left = right' lines, cleaned into a dict."""

    def __init__(self, *, left: str, right: str, rows: int = 6, **kwargs):
        self.left, self.right = left, right
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_TEXTAREA)
        super().__init__(widget=forms.Textarea(attrs={"rows": rows, "cols": 60, "spellcheck": "false"}), **kwargs)

    def prepare_value(self, value):
        return format_pairs(value) if isinstance(value, dict) else value

    def clean(self, value):
        return parse_pairs(super().clean(value), self.left, self.right)

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != (initial or {})
        except ValidationError:
            return True


class LinesField(forms.CharField):
    """A textarea of one value per line (commas and spaces also separate when `words` is set)."""

    def __init__(self, *, words: bool = False, rows: int = 3, **kwargs):
        self.words = words
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_TEXTAREA)
        super().__init__(widget=forms.Textarea(attrs={"rows": rows, "cols": 60}), **kwargs)

    def prepare_value(self, value):
        return "\n".join(value) if isinstance(value, list) else value

    def clean(self, value):
        text = super().clean(value)
        parts = re.split(r"[\s,]+", text) if self.words else text.splitlines()
        return list(dict.fromkeys(p.strip() for p in parts if p.strip()))

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != (initial or [])
        except ValidationError:
            return True


def changes(form: forms.Form) -> dict:
    """The cleaned values that differ from what is stored (so the audit event names only those)."""
    return {name: form.cleaned_data[name] for name in form.changed_data}


class ServiceProviderCreateForm(forms.Form):
    metadata = forms.CharField(
        label="SP metadata (XML)",
        max_length=MAX_METADATA_BYTES,
        strip=False,
        widget=METADATA_WIDGET,
        help_text="Paste the EntityDescriptor the application publishes.",
    )
    name = forms.CharField(max_length=200, required=False, help_text="Leave empty to use the entity ID.")
    nameid_format = forms.ChoiceField(
        label="NameID format",
        required=False,
        choices=[("", "As the metadata asks (else email address)"), *NameIDFormat.choices],
    )


class ServiceProviderForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    nameid_format = forms.ChoiceField(label="NameID format", choices=NameIDFormat.choices)
    attribute_release = PairsField(
        label="Attributes released (SAML attribute name = user field)",
        left="SAML attribute name",
        right="user field",
        help_text=_fields_help(RELEASABLE_FIELDS),
    )
    sign_response = forms.BooleanField(label="Sign the response", required=False)
    sign_assertion = forms.BooleanField(label="Sign the assertion", required=False)
    encrypt_assertion = forms.BooleanField(label="Encrypt the assertion (with the SP's certificate)", required=False)
    require_signed_requests = forms.BooleanField(label="Require signed AuthnRequests", required=False)
    active = forms.BooleanField(label="Active", required=False)


class ConnectionCreateForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="A label for people, e.g. “Corp SSO”.")
    slug = forms.SlugField(
        max_length=63, help_text="Used in <code>/saml/sp/login?idp=&lt;slug&gt;</code>; it cannot change later."
    )
    metadata = forms.CharField(
        label="IdP metadata (XML)", required=False, max_length=MAX_METADATA_BYTES, strip=False, widget=METADATA_WIDGET
    )
    metadata_url = forms.CharField(
        label="…or its metadata URL", required=False, max_length=2048, help_text="Fetched once, now."
    )

    def clean(self):
        data = super().clean()
        pasted, url = (data.get("metadata") or "").strip(), data.get("metadata_url") or ""
        if pasted and url:
            self.add_error("metadata_url", "Paste the metadata or give its URL, not both.")
        elif not pasted and not url and "metadata" not in self.errors and "metadata_url" not in self.errors:
            self.add_error("metadata", "Paste the identity provider's metadata or give its URL.")
        return data


class ConnectionForm(forms.Form):
    name = forms.CharField(max_length=200)
    attribute_mapping = PairsField(
        label="Attribute mapping (user field = SAML attribute name)",
        left="user field",
        right="SAML attribute name",
        help_text=_fields_help(MAPPED_FIELDS) + " The NameID is the subject.",
    )
    default_groups = LinesField(label="Default groups (one per line)", help_text="Every user of this IdP joins them.")
    group_attribute = forms.CharField(
        label="Group attribute", max_length=255, required=False, help_text="The SAML attribute listing their groups."
    )
    group_mapping = PairsField(
        label="Group mapping (IdP value = group name here)",
        left="IdP value",
        right="group name",
        rows=4,
        help_text="Values not listed are ignored. Groups are created when first needed.",
    )
    email_domains = LinesField(
        label="Email domains (one per line)",
        words=True,
        help_text="For sign-in routing by email address, e.g. corp.example.",
    )
    trust_email = forms.BooleanField(
        label="Trust its email addresses (link a first sign-in to an existing account with the same email)",
        required=False,
    )
    sign_requests = forms.BooleanField(label="Sign AuthnRequests", required=False)
    active = forms.BooleanField(label="Active", required=False)
