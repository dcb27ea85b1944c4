"""OSS TL;DR shared layer: settings, data model, data access and domain logic used by every function."""

__version__ = "0.1.0"
