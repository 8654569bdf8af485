"""The one partitions definition: a partition per uploaded file content."""

import dagster as dg

uploads_partitions = dg.DynamicPartitionsDefinition(name="uploads")
