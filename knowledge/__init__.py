"""Document ingestion and retrieval inside the caller's tenant and ACL.

Not built yet. The package exists so the layout and layering contract hold.
"""
