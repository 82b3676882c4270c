"""Client-initiated backchannel authentication (OpenID CIBA Core 1.0): a client asks for a user by
a hint, the user is notified and approves or denies on the tenant's page (or through the approval
API an app of the tenant calls), and the client polls the token endpoint or is pinged."""
