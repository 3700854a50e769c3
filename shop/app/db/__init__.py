"""The shop's data access: every query the API sends, parameterised, one module per aggregate.

- `accounts`: customers, their sessions and failed logins;
- `products`: the catalogue, its listing pages and sellers' changes;
- `orders`: carts, orders and what happens to an order's stock;
- `payments`: paying an order once through the payment provider, and settling attempts whose answer was lost;
- `reviews`: buyers' reviews of what they bought;
- `locks`: the advisory locks that let one task at a time migrate, keep house or pay an order.

Functions take a psycopg connection (autocommit: each function is one unit of work and opens
its own transaction where it needs one) and plain values, return typed rows (frozen
dataclasses, never bare dicts) and raise `shop.app.errors.ShopError` subclasses. Nothing here
knows about HTTP. Besides the errors each function names, psycopg's own pass through (a lost
connection, a value a CHECK refuses, text PostgreSQL cannot hold). Money is `Decimal` in the
row's currency (numeric(10, 2) or (12, 2) in the database); instants are aware `datetime`s in UTC.
"""
