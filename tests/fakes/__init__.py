"""HTTP fakes for GitHub and OpenAI, served on 127.0.0.1 and counting requests."""
