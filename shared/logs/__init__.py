"""Logging and redaction, the bottom floor of shared/: structured JSON log lines (logs), secrets masked
out of every text (redact), JSON text that always encodes (jsontext). Imports nothing of shared/ above it.
Empty on purpose: import the module you need (cold start pays for what it imports)."""
