"""The shared audit kernel: `record(...)` appends an event in the caller's transaction.

Import `record`, `Ref` and friends from `lumoauth.events.api` (this package's __init__ stays free of
model imports so Django can load the app registry first).
"""
