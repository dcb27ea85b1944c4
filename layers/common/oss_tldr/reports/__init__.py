"""The report engine: windows, GitHub fetch, summaries, the shared single-flight cache."""
