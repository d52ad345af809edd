"""policy-export: HTTP (and CLI) export of SWR auto-sync (sync_repo) policies, with drift against push-sync rules."""
