"""The one partitions definition: a partition per uploaded file content."""

import dagster as dg

UPLOADS = "uploads"
uploads_partitions = dg.DynamicPartitionsDefinition(name=UPLOADS)
