"""Forms of the portal's OpenID Connect connections and domains; the services validate what they mean."""

from django import forms

from oauth.federation.models import Preset
from oauth.federation.user_claims import MAPPED_FIELDS

from .saml_forms import LinesField, PairsField

SECRET_WIDGET = forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False)


def _fields_help(fields) -> str:
    return "User fields: " + ", ".join(f"<code>{f}</code>" for f in sorted(fields)) + "."


class OIDCConnectionCreateForm(forms.Form):
    preset = forms.ChoiceField(label="Provider", choices=[(p.value, p.label) for p in Preset])
    name = forms.CharField(
        max_length=200, help_text="The button label on the sign-in page, e.g. “Sign in with Google”."
    )
    slug = forms.SlugField(max_length=63, help_text="Part of the redirect URI; it cannot change later.")
    issuer = forms.CharField(
        label="Issuer URL (OpenID Provider only)",
        required=False,
        max_length=2048,
        help_text="Its issuer or discovery URL, e.g. https://id.example.com; the discovery document is fetched now.",
    )
    microsoft_tenant = forms.CharField(
        label="Directory (Microsoft Entra ID only)",
        required=False,
        max_length=64,
        help_text="The directory (tenant) id, or “organizations” / “common” for any work account.",
    )
    client_id = forms.CharField(label="Client ID", max_length=255)
    client_secret = forms.CharField(label="Client secret", max_length=1024, strip=False, widget=SECRET_WIDGET)

    def clean(self):
        data = super().clean()
        if data.get("preset") == Preset.CUSTOM and not data.get("issuer"):
            self.add_error("issuer", "Enter the provider's issuer URL.")
        if data.get("preset") == Preset.MICROSOFT and not data.get("microsoft_tenant"):
            self.add_error("microsoft_tenant", "Enter the directory id, or organizations / common.")
        return data


class OIDCConnectionForm(forms.Form):
    name = forms.CharField(max_length=200)
    client_id = forms.CharField(label="Client ID", max_length=255)
    client_secret = forms.CharField(
        label="New client secret",
        required=False,
        max_length=1024,
        strip=False,
        widget=SECRET_WIDGET,
        help_text="Leave empty to keep the stored secret (it is never shown).",
    )
    scopes = forms.CharField(max_length=1000, help_text="Space-separated.")
    claim_mapping = PairsField(
        label="Claim mapping (user field = claim name)",
        left="user field",
        right="claim name",
        help_text=_fields_help(MAPPED_FIELDS) + " A dotted name reads inside an object (realm_access.roles).",
    )
    default_groups = LinesField(
        label="Default groups (one per line)", help_text="Every user of this provider joins them."
    )
    group_claim = forms.CharField(
        label="Group claim", max_length=255, required=False, help_text="The claim listing their groups, e.g. groups."
    )
    group_mapping = PairsField(
        label="Group mapping (provider value = group name here)",
        left="provider value",
        right="group name",
        rows=4,
        help_text="Values not listed are ignored. Groups are created when first needed.",
    )
    email_domains = LinesField(
        label="Email domains (one per line)",
        words=True,
        help_text="People with these addresses are sent here from the sign-in page, once the domain is verified.",
    )
    link_verified_email = forms.BooleanField(
        label="Link a first sign-in to an existing account with the same email, when the provider says it is verified",
        required=False,
    )
    use_userinfo = forms.BooleanField(label="Ask the userinfo endpoint for more claims", required=False)
    allowed_tenant_ids = LinesField(
        label="Allowed directories (Entra ID common / organizations only)",
        words=True,
        help_text="Directory ids whose accounts may sign in; empty allows any.",
    )
    show_on_login = forms.BooleanField(label="Show a button on the sign-in page", required=False)
    active = forms.BooleanField(label="Active", required=False)

    def __init__(self, *args, connection=None, **kwargs):
        super().__init__(*args, **kwargs)
        if connection is not None and not connection.issuer_is_template:
            del self.fields["allowed_tenant_ids"]
        if connection is not None and not connection.uses_id_token:
            del self.fields["use_userinfo"]  # GitHub: its user API is the only source


class DomainForm(forms.Form):
    domain = forms.CharField(max_length=253, help_text="e.g. corp.example; its sub-domains are claimed separately.")
