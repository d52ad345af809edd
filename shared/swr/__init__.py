"""The SWR API client: HTTP transport with retries and deadlines (http), request signing (signer),
credentials (auth), wire models (models), names and endpoints, errors, the client itself (client) and
paging, plus the readers of untrusted wire data (wirejson, timeutil, secreturl). Builds on shared.logs only.
Empty on purpose: import the module you need (cold start pays for what it imports)."""
