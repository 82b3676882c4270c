"""Webhooks and notifications: the event catalogue, tenants' subscriptions, the transactional outbox and
its delivery through Celery (docs/webhooks.md, docs/events.md).

The audit recorder hands every event to `outbox.publish_audit_event` in the caller's transaction; this
package's __init__ stays free of model imports so Django can load the app registry first.
"""
