"""HTTP plumbing shared by every API function: the resolver factory, error mapping, CORS, auth."""

from oss_tldr.api.app import create_app, error_response, lambda_entrypoint

__all__ = ["create_app", "error_response", "lambda_entrypoint"]
