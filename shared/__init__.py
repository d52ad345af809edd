"""swr-sync shared library: names, models, auth, SWR client, logging, runtime adapters, configuration."""
