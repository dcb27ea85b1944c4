"""Identity: GitHub OAuth sign-in, session tokens, encrypted GitHub tokens, users and the audit log.

Every statement here is Core, on :mod:`oss_tldr.db.tables`: authenticating a request (every protected route
of every function) never imports the ORM. The package imports none of its modules itself.
"""
