"""Data retention: the daily purge of rows nobody can use any more (lumoauth/retention/api.py).

Each app registers its purge functions in AppConfig.ready, so the kernel imports no app.
"""
