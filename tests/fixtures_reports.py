"""Pytest fixtures for the reports capability (loaded by tests/conftest.py)."""
