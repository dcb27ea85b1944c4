"""Maintenance: work no request does, run on a schedule (``functions/cleanup``). Above the reports
capability, beside ``api`` (docs/architecture.md)."""
