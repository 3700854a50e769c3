"""The shop's data access: every query the API sends, parameterised, one module per aggregate.

- `accounts`: customers, their sessions and failed logins;
- `products`: the catalogue, its listing pages and sellers' changes;
- `orders`: carts, orders and what happens to an order's stock;
- `payments`: paying an order once through the payment provider;
- `reviews`: buyers' reviews of what they bought.

Functions take a psycopg connection (autocommit: each function is one unit of work and opens
its own transaction where it needs one) and plain values, return typed rows (frozen
dataclasses, never bare dicts) and raise `shop.app.errors.ShopError` subclasses. Nothing here
knows about HTTP. Money is `Decimal` in the row's currency (numeric(10, 2) or (12, 2) in the
database), instants are aware `datetime`s in UTC.
"""
