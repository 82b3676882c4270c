"""The OAuth scope a token needs for the webhooks REST API. The authorization server (oauth/scopes.py)
lists it among its privileged scopes: only clients that list it in their allowed scopes may ask."""

SCOPE = "webhooks:manage"
DESCRIPTION = "Manage this organization's webhooks (as its administrator)"
