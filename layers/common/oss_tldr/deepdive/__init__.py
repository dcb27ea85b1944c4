"""The deep dive opened from an item in the SPA: a pull request's changed files (``POST /patches``), one
file's change explained (``POST /diff``) and the digest of a whole issue or pull request thread
(``POST /deepdive``) — each fetched or written once and shared by every user who may see the repository,
like reports (docs/report-content.md, "Deep dive").

Modules, top to bottom: ``service`` (the three requests), ``summarise`` (the offline summariser, the
Markdown, which summariser runs) and ``llm`` (the OpenAI one, through the ``openai_api`` adapter), ``flight``
(the single flight of model work), ``quota`` (the daily quotas), ``store`` (the one writer of the deep-dive
tables), ``hunks`` (a patch cut to the prompt budget at hunk boundaries), ``models`` and ``schemas``.
"""
