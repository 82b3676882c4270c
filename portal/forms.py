from django import forms
from django.core.exceptions import ValidationError

USER_CLAIMS = ("email", "given_name", "family_name", "name", "phone_number", "locale", "zoneinfo")


class UserForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    given_name = forms.CharField(label="Given name", max_length=150, required=False)
    family_name = forms.CharField(label="Family name", max_length=150, required=False)
    name = forms.CharField(label="Display name", max_length=300, required=False)
    phone_number = forms.CharField(label="Phone", max_length=32, required=False)
    locale = forms.CharField(max_length=35, required=False)
    zoneinfo = forms.CharField(label="Time zone", max_length=64, required=False)
    is_tenant_admin = forms.BooleanField(label="Administrator of this organization", required=False)
    password = forms.CharField(
        label="Initial password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to let the user sign in only through a connected identity provider.",
    )

    def claims(self) -> dict:
        data = self.cleaned_data
        return {k: data[k] for k in USER_CLAIMS} | {"is_tenant_admin": data["is_tenant_admin"]}


def add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's ValidationError on the form: next to the field it names, else on top."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages in errors.items():
        form.add_error(field if field in form.fields else None, messages)
