"""The OpenAI adapter: the SDK client (:mod:`.client`) and the wall-clock bound on its answers
(:mod:`.wallclock`). Importing this package imports nothing heavy; :mod:`.client` imports the OpenAI SDK,
and only the summariser that uses it (``oss_tldr.reports.summarise.llm``) imports that module."""
