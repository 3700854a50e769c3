"""The shop's web tier: the storefront's pages, and the API calls forwarded to the app tier (`site`)."""
