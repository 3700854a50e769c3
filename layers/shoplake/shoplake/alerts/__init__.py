"""Alerting: every alert source turned into one readable Slack message.

`sources` reads events into `Alert`s, `slack_blocks` renders them, `routing` picks the
channel and `delivery` posts them.
"""
