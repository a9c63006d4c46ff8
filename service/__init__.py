"""The composition root: the only package that wires. It builds the store, the runtime, the
workers, the scheduler and every surface from settings, and holds the process entry points
(`switchboard serve | worker | scheduler | …`, service/cli) and the offline demo's seeding.

Everything points inward from here: nothing imports `service` (an import-linter contract).
"""
