"""Storage: the object store (local directory or S3) and the records database."""
