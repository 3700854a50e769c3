"""Clickstream: every page view, search, cart change and purchase, from the shop to the lake.

`contract` declares the event, `transform` is Firehose's record transformation,
`producer` puts events on the stream from the shop, `redrive` repairs failed records.
"""
