"""Alerts: what an anomaly check raises, and what people do with it.

    lifecycle.py  AlertStatus and its one transition table; the Alert record
    notices.py    an alert → surface-neutral notices (the card, its edits, the resolution)
    desk.py       acknowledge / silence / investigate, authorized and audited

The rows live in the context store (core/store/alerts.py); the checks that open and resolve
alerts live in scheduler/anomaly/. A deterministic detector decides; the model only narrates.
"""
