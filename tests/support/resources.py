"""The product's composed resource with the hooks a test chose (the product's are inert).

Dagster re-creates a resource from its configuration wherever it runs a step or a sensor tick,
so the resource cannot hold the hooks themselves: it names them. ``hooks_id`` is either
``FROM_ENV``, the faults ``FILEPROC_FAULTS`` arms in the process doing the work (the daemon's
code server, its run workers; see ``support.faults``), or a name ``with_hooks`` registered in
this process, for what runs in it (``dg.materialize``, a sensor called with its context).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, overload

import dagster as dg
from pydantic import Field

from fileproc_dagster.definitions import build_resources
from fileproc_dagster.defs.resources import FileprocResource
from fileproc_dagster.hooks import Hooks
from fileproc_dagster.settings import Settings
from support import faults

FROM_ENV = "from-env"
_registered: dict[str, Hooks] = {}
_names = itertools.count(1)


class HookedFileproc(FileprocResource):
    """``FileprocResource`` whose pipeline and upload sensor call the hooks named here."""

    hooks_id: str = Field(description=(
        f"{FROM_ENV!r}: the faults armed by FILEPROC_FAULTS; else hooks registered in this "
        "process by with_hooks."))

    def hooks(self) -> Hooks:
        if self.hooks_id == FROM_ENV:
            return faults.from_env()
        return _registered[self.hooks_id]


def hooked(fileproc: FileprocResource, hooks: Hooks | str) -> HookedFileproc:
    """``fileproc``'s systems (the same objects) with ``hooks``, or hooks named ``FROM_ENV``."""
    if isinstance(hooks, Hooks):
        name = f"hooks-{next(_names)}"
        _registered[name] = hooks
        hooks = name
    systems = {key: getattr(fileproc, key) for key in FileprocResource.model_fields}
    return HookedFileproc(**systems, hooks_id=hooks)


@overload
def with_hooks(target: dg.Definitions, hooks: Hooks | str) -> dg.Definitions: ...
@overload
def with_hooks(target: Mapping[str, Any], hooks: Hooks | str) -> dict[str, Any]: ...
def with_hooks(target: dg.Definitions | Mapping[str, Any], hooks: Hooks | str
               ) -> dg.Definitions | dict[str, Any]:
    """The resources (or definitions) with their ``fileproc`` calling ``hooks``."""
    if isinstance(target, dg.Definitions):
        return dg.Definitions(
            assets=target.assets, asset_checks=target.asset_checks, jobs=target.jobs,
            schedules=target.schedules, sensors=target.sensors, executor=target.executor,
            loggers=target.loggers, metadata=target.metadata,
            resources=with_hooks(target.resources or {}, hooks))
    return {**target, "fileproc": hooked(target["fileproc"], hooks)}


def fileproc_of(settings: Settings, **systems: dg.ConfigurableResource) -> FileprocResource:
    """The ``fileproc`` resource of ``settings``, with the systems given here in place of its
    own (``batching=BatchingResource(...)``)."""
    resources = build_resources(settings)
    return FileprocResource(**{key: systems.get(key, resources[key])
                               for key in FileprocResource.model_fields})
