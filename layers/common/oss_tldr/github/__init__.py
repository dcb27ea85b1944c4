"""The GitHub client and its helpers."""
