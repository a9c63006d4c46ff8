"""Governance tests run the support bot's offline demo script on the scripted model server
(the `demo_model` fixture in tests/conftest.py), through the real openai client, on SQLite and
PostgreSQL."""
