"""The only way tenants, users and groups change: each function records its audit event in the
same transaction as the change. Views, commands, admin and other apps call these."""
