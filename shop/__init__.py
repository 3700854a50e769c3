"""The shop: its database schema today (the migrations it owns); its web and application tiers later."""
