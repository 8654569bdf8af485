"""The UI's partition queries, sent to a real ``dagster-webserver`` on 127.0.0.1.

``PARTITION_HEALTH`` asks what the asset's Partitions page asks for its status bar (every
partition key and the materialized / materializing / failed keys); ``PARTITION_STATS`` asks
for the counts the asset graph and catalog show ("N of M materialized").
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from benchmarks.common import bin_path, stop_group

PARTITION_HEALTH = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on DefaultPartitionStatuses {
          materializedPartitions materializingPartitions failedPartitions
        }
        ... on TimePartitionStatuses { ranges { status startTime endTime startKey endKey } }
      }
    }
  }
}"""

PARTITION_STATS = """
query AssetPartitionStats($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionStats { numMaterialized numMaterializing numFailed numPartitions }
    }
  }
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Webserver:
    """``dagster-webserver -m MODULE`` on a free loopback port."""

    def __init__(self, module: str, env: Mapping[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/graphql"
        with open(log_path, "wb") as out:
            self.process = subprocess.Popen(
                [bin_path("dagster-webserver"), "-m", module, "-h", "127.0.0.1",
                 "-p", str(self.port)], env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_ready(self, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("dagster-webserver exited during start-up")
            try:
                self.query("{ version }")
                return
            except (OSError, urllib.error.URLError):
                time.sleep(1)
        raise TimeoutError(f"dagster-webserver not ready after {timeout_s:.0f} s")

    def query(self, text: str, variables: Mapping[str, Any] | None = None,
              timeout_s: float = 300) -> tuple[float, int, dict[str, Any]]:
        """Seconds, response bytes and data of one query."""
        body = json.dumps({"query": text, "variables": dict(variables or {})}).encode()
        request = urllib.request.Request(self.url, data=body,
                                         headers={"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            payload = response.read()
        elapsed = time.perf_counter() - started
        decoded = json.loads(payload)
        if decoded.get("errors"):
            raise RuntimeError(f"GraphQL errors: {decoded['errors'][:2]}")
        return elapsed, len(payload), decoded["data"]

    def stop(self) -> None:
        stop_group(self.process, 30, 10)
