"""The device authorization grant (RFC 8628): user codes, the guessing throttle, and the device
authorizations themselves (start, approve, deny, poll)."""
