"""The UI as a person meets it: a real ``dagster-webserver`` on 127.0.0.1 over files processed
in one batch run, asked through its GraphQL API and looked at in Debian's Chromium.

Playwright drives the system browser (``executable_path``), never one it downloads. The
screenshots land in a temporary directory, named in the test's output.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from daemon import venv_bin

from fileproc_dagster.app.instance import prepare_dagster_home
from fileproc_dagster.definitions import ASSETS, build_resources
from fileproc_dagster.defs._dagster_compat import partition_range_tags
from fileproc_dagster.defs.partitions import uploads_partitions
from fileproc_dagster.intake.admit import receive
from fileproc_dagster.settings import Settings
from fileproc_dagster.storage.records import Records

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                "--no-first-run"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(f"{url}/graphql", method="POST",
                                     data=json.dumps({"query": query,
                                                      "variables": variables}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        answer: dict[str, Any] = json.load(response)
    assert "errors" not in answer, answer
    return answer["data"]


class Served:
    """The webserver's URL and the partitions it shows, by sample name."""

    def __init__(self, url: str, keys: dict[str, str], settings: Settings) -> None:
        self.url, self.keys, self.settings = url, keys, settings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, samples: dict[str, Path]) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("ui") / "home"
    settings = Settings.from_env({"FILEPROC_HOME": str(home)})
    settings.ensure_dirs()
    prepare_dagster_home(settings.dagster_home)
    records = Records(settings.db_url)
    keys = {}
    for name in ("hills_photo", "notice_scan"):
        shutil.copyfile(samples[name], settings.upload_dir / samples[name].name)
        keys[name] = receive(settings.upload_dir, samples[name].name, records).key
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        instance.add_dynamic_partitions(uploads_partitions.name, list(keys.values()))
        # One run over both files: the batch path, where each file still gets its own results.
        result = dg.materialize(ASSETS, instance=instance, resources=build_resources(settings),
                                tags=partition_range_tags(keys["hills_photo"],
                                                          keys["notice_scan"]))
        assert result.success
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(settings.dagster_home),
           "FILEPROC_HOME": str(home)}
    with open(home / "webserver.log", "wb") as log:
        server = subprocess.Popen([venv_bin("dagster-webserver"), "-h", "127.0.0.1", "-p",
                                   str(port), "-m", "fileproc_dagster.definitions"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=5):
                    break
            except OSError:
                assert server.poll() is None, (home / "webserver.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "the webserver did not come up in 120 s"
                time.sleep(0.5)
        yield Served(url, keys, settings)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


MATERIALIZATION = """
query ($assetKey: AssetKeyInput!, $partition: String!) {
  assetOrError(assetKey: $assetKey) {
    ... on Asset {
      assetMaterializations(partitions: [$partition], limit: 1) {
        partition
        metadataEntries {
          label
          __typename
          ... on MarkdownMetadataEntry { mdStr }
          ... on PathMetadataEntry { path }
          ... on JsonMetadataEntry { jsonString }
          ... on FloatMetadataEntry { floatValue }
        }
      }
    }
  }
}"""
CHECKS = """
query ($assetKey: AssetKeyInput!, $check: String!, $partition: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $check, limit: 5,
                       partition: $partition) {
    status
    partition
    evaluation { success description partition }
  }
}"""


def test_graphql_gives_the_preview_and_a_check_per_file(served: Served) -> None:
    photo = served.keys["hills_photo"]
    data = _graphql(served.url, MATERIALIZATION, {"assetKey": {"path": ["file_description"]},
                                                  "partition": photo})
    [materialization] = data["assetOrError"]["assetMaterializations"]
    entries = materialization["metadataEntries"]
    assert materialization["partition"] == photo
    first = entries[0]
    assert (first["label"], first["__typename"]) == ("preview", "MarkdownMetadataEntry")
    assert len(first["mdStr"]) < 1000  # shown inline, no click needed
    assert "](data:image/webp;base64," in first["mdStr"]
    record = Records(served.settings.db_url).files.get(photo)
    assert record is not None and record.uuid in first["mdStr"]
    assert "state **described**" in first["mdStr"]  # as it was after this step
    processed = _graphql(served.url, MATERIALIZATION, {"assetKey": {"path": ["processed_file"]},
                                                       "partition": photo})
    final = processed["assetOrError"]["assetMaterializations"][0]["metadataEntries"][0]
    assert final["label"] == "preview" and "state **done**" in final["mdStr"]
    assert "](data:image/webp;base64," in final["mdStr"] and len(final["mdStr"]) < 1000
    labels = [e["label"] for e in entries]
    assert "step_s" in labels and "thumbnail" not in labels
    details = next(e for e in entries if e["label"] == "details")
    assert "file://" not in details["jsonString"]

    stored = _graphql(served.url, MATERIALIZATION, {"assetKey": {"path": ["stored_object"]},
                                                    "partition": photo})
    location = next(e for e in stored["assetOrError"]["assetMaterializations"][0]
                    ["metadataEntries"] if e["label"] == "location")
    assert location["__typename"] == "PathMetadataEntry"
    assert Path(location["path"]).is_file() and "objects/objects" not in location["path"]

    for name, key in served.keys.items():
        for asset, check in (("file_description", "has_text"),
                             ("file_record", "object_matches_record")):
            executions = _graphql(served.url, CHECKS, {
                "assetKey": {"path": [asset]}, "check": check, "partition": key,
            })["assetCheckExecutions"]
            assert [e["partition"] for e in executions] == [key], (name, check)
            assert executions[0]["status"] == "SUCCEEDED", (name, check, executions)
            assert executions[0]["evaluation"]["partition"] == key


RESOURCES = """
query ($repository: RepositorySelector!) {
  allTopLevelResourceDetailsOrError(repositorySelector: $repository) {
    ... on ResourceDetailsList {
      results {
        name
        configuredValues { key value }
        nestedResources { name type resource { name } }
        assetKeysUsing { path }
      }
    }
  }
}"""


def test_the_resources_page_shows_each_system_and_the_one_the_assets_take(
        served: Served) -> None:
    data = _graphql(served.url, RESOURCES, {"repository": {
        "repositoryName": "__repository__",
        "repositoryLocationName": "fileproc_dagster.definitions"}})
    shown = {r["name"]: r for r in data["allTopLevelResourceDetailsOrError"]["results"]}
    assert "hooks" not in shown
    fileproc = shown["fileproc"]
    systems = ["uploads", "records", "object_store", "notifier", "extractor", "batching"]
    # Each system of the composed resource links to its own entry, configuration and all.
    assert {n["name"]: (n["type"], n["resource"]["name"])
            for n in fileproc["nestedResources"]} == {k: ("TOP_LEVEL", k) for k in systems}
    assert {tuple(a["path"]) for a in fileproc["assetKeysUsing"]} == {
        (name,) for name in ("stored_object", "file_record", "file_description",
                             "processed_file")}
    configured = {name: {v["key"]: v["value"] for v in shown[name]["configuredValues"]}
                  for name in systems}
    assert json.loads(configured["uploads"]["upload_dir"]) == str(served.settings.upload_dir)
    assert json.loads(configured["object_store"]["root"]) == str(served.settings.store_dir)
    assert "ocr_language" in configured["extractor"] and "max_batch" in configured["batching"]


@pytest.mark.skipif(not CHROMIUM.exists() and os.environ.get("CI") != "true",
                    reason="Debian's chromium is not installed (scripts/setup.sh installs it)")
def test_the_partition_page_shows_the_thumbnail(served: Served,
                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    from playwright.sync_api import sync_playwright

    shots = tmp_path_factory.mktemp("screenshots")
    photo = served.keys["hills_photo"]
    page_url = f"{served.url}/assets/file_description?partition={photo}&view=partitions"
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(page_url)
            # Dagster greets a new browser with a community dialog: close it first.
            join = page.get_by_text("Join the Dagster community")
            join.wait_for(timeout=30_000)
            page.screenshot(path=str(shots / "community_dialog.png"))
            page.get_by_role("button", name="Skip").click()
            join.wait_for(state="hidden", timeout=10_000)
            image = page.locator("img[src^='data:image/webp']").first
            image.wait_for(state="visible", timeout=60_000)
            size = image.evaluate("i => [i.complete, i.naturalWidth, i.naturalHeight]")
            page.screenshot(path=str(shots / "partition_page.png"), full_page=True)
            assert size[0] and size[1] > 0 and size[2] > 0, size
            assert page.locator("[role=dialog]").count() == 0  # seen without opening one
        finally:
            browser.close()
    print(f"screenshots in {shots}")
