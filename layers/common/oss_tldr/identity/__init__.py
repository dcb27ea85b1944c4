"""Identity: GitHub OAuth sign-in, session tokens, encrypted GitHub tokens, users and the audit log."""

from oss_tldr.identity.audit import record_audit
from oss_tldr.identity.tokens import github_token_for

__all__ = ["github_token_for", "record_audit"]
