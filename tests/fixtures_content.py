"""Pytest fixtures for report content: the fake OpenAI and seeded GitHub activity (loaded by conftest)."""
