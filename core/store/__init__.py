"""The context store: the system of record. Every read takes the tenant."""
