"""HTTP fakes for GitHub and OpenAI, served on 127.0.0.1 and counting requests.

Development tooling, not shipped: the test suite (``tests/conftest.py``'s ``fake_github``/``fake_openai``),
``make bench`` and local tools import them as ``tools.fakes`` with the repository root on ``PYTHONPATH``
(as the Makefile and pytest.ini set it). GitHub's capabilities live in ``github_*.py`` modules, which
``FakeGitHub.start`` registers by listing this package.
"""
