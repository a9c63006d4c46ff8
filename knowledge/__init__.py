"""Knowledge: documents a bot can search, inside the caller's tenant and ACL, with citations.

reader.py turns a file into text (Markdown, plain text, HTML, PDF) or a clear refusal; chunker.py
splits it on its structure; embeddings.py asks an OpenAI-compatible `/v1/embeddings` endpoint for
vectors; ingest.py keeps a namespace in step with files (incremental by content hash, one
transaction per document); retriever.py searches (keyword and exact cosine over the chunks the
store's access filter lets through, fused by reciprocal rank).
"""
