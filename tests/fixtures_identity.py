"""Pytest fixtures for the identity capability (loaded by tests/conftest.py)."""
