"""The shop's application tier: the HTTP API over the shop database (`create_app` in `api`)."""
