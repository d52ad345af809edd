"""push-sync: registry push webhooks → filtered, batched, idempotent SWR ``sync_images`` calls."""
