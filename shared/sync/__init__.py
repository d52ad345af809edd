"""Replication calls: rule targets turned into batched ``sync_images`` calls (batching). Sits above
shared.swr (the client) and shared.rules (targets). Empty on purpose: import the module you need."""
