"""CPU and memory of a whole process tree (the daemon and everything it spawns).

CPU is counted exactly, not sampled: a process's CPU ends up in one of three places, and a
"CPU mark" adds all three at one instant:

1. its own user+system time while it runs (read from /proc for every live process of the
   tree, zombies included);
2. its parent's *children* times once the parent has reaped it (also read from /proc);
3. this process's ``RUSAGE_CHILDREN`` when it is reaped here: the benchmark makes itself a
   child subreaper, so processes orphaned inside the tree are re-parented to it (not to
   init, where their CPU would vanish) and reaped by the monitor.

CPU of a window = mark(end) - mark(start). The monitor also samples each process's peak
RSS (VmHWM, the kernel's high-water mark) and classifies processes by role.
"""

from __future__ import annotations

import ctypes
import os
import resource
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import psutil

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make orphaned descendants re-parent to this process (Linux); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def reaped_children_cpu() -> float:
    """User+system seconds of every child this process has reaped so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine_busy_cpu() -> float:
    """CPU seconds the whole machine has been busy (all processes, /proc/stat): with the
    benchmark's own CPU subtracted, the load other users put on the machine meanwhile."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def server_cpu(name: str = "postgres") -> float:
    """CPU seconds used so far by a local server's process tree (e.g. PostgreSQL): its live
    processes plus the children it has reaped (backends of closed connections)."""
    import psutil

    total = 0.0
    for proc in psutil.process_iter(["name", "ppid"]):
        try:
            if proc.info["name"] != name:
                continue
            times = proc.cpu_times()
            total += times.user + times.system
            parent = psutil.Process(proc.info["ppid"]) if proc.info["ppid"] else None
            if parent is None or parent.name() != name:  # the postmaster
                total += times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


def _peak_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _role(cmdline: list[str], parent_role: str | None) -> str:
    text = " ".join(cmdline)
    name = os.path.basename(cmdline[0]) if cmdline else ""
    if "dagster-daemon" in text:
        return "daemon"
    if "api grpc" in text or "dagster-webserver" in text:
        return "code server"
    if name.startswith(("tesseract", "ffmpeg", "ffprobe")):
        return "tools (tesseract, ffmpeg)"
    if "watch_orphans" in text or name == "tail":
        return "compute-log capture (tail)"
    if "resource_tracker" in text:
        return "helpers"
    if "spawn_main" in text or "execute_run" in text or "execute_step" in text:
        if parent_role in ("run worker", "extraction worker"):
            return "extraction worker"
        return "run worker"
    return "other"


@dataclass
class ProcInfo:
    """What the monitor knows of one process of the tree."""

    pid: int
    role: str
    cpu_s: float = 0.0  # own user+system, last sample (approximate for short-lived ones)
    peak_rss: int = 0
    create_time: float = 0.0


@dataclass
class TreeMonitor:
    """Samples the tree under ``root_pid`` (with its orphans) every ``interval_s``."""

    root_pid: int
    interval_s: float = 0.2
    procs: dict[int, ProcInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="tree-monitor")

    def start(self) -> TreeMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.sample()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No sampling and no reaping meanwhile: for a child the benchmark starts beside the
        tree (the floor), which must be neither counted in the tree nor reaped here."""
        with self._lock:
            yield

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def _live(self) -> list[psutil.Process]:
        """Every descendant of this process: the root's tree plus the orphans re-parented
        here. (Anything else the benchmark starts meanwhile runs while the monitor is paused.)"""
        try:
            return list(psutil.Process().children(recursive=True))
        except psutil.NoSuchProcess:
            return []

    def sample(self) -> None:
        with self._lock:
            for proc in sorted(self._live(), key=lambda p: p.pid):
                try:
                    info = self.procs.get(proc.pid)
                    if info is None:
                        parent = self.procs.get(proc.ppid())
                        parent_role = parent.role if parent else None
                        info = ProcInfo(proc.pid, _role(proc.cmdline(), parent_role),
                                        create_time=proc.create_time())
                        self.procs[proc.pid] = info
                    times = proc.cpu_times()
                    info.cpu_s = times.user + times.system
                    info.peak_rss = max(info.peak_rss, _peak_rss(proc.pid))
                except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                    continue
            self._reap_orphans()

    def _reap_orphans(self) -> None:
        """Reap exited children other than the root (whose Popen waits for it): orphans of
        the tree, re-parented here, whether or not a sample ever saw them."""
        for child in psutil.Process().children():
            if child.pid == self.root_pid:
                continue
            try:
                if child.status() == psutil.STATUS_ZOMBIE:
                    os.waitpid(child.pid, os.WNOHANG)
            except (psutil.NoSuchProcess, ChildProcessError):
                continue

    def cpu_mark(self) -> float:
        """Total CPU seconds the tree has used so far (see the module docstring)."""
        with self._lock:
            self._reap_orphans()
            total = reaped_children_cpu()
            for proc in self._live():
                try:
                    times = proc.cpu_times()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += times.user + times.system + times.children_user + times.children_system
            return total

    def cpu_by_pid(self) -> dict[int, float]:
        """Sampled own CPU of every process seen so far (a baseline for ``by_role``)."""
        with self._lock:
            return {pid: info.cpu_s for pid, info in self.procs.items()}

    def by_role(self, baseline: Mapping[int, float] | None = None) -> dict[str, dict[str, float]]:
        """Per role, since ``baseline``: processes active, sampled CPU (approximate: a
        process's last fraction of a sampling interval is missed), max peak RSS."""
        baseline = baseline or {}
        roles: dict[str, dict[str, float]] = {}
        with self._lock:
            for pid, info in self.procs.items():
                cpu = info.cpu_s - baseline.get(pid, 0.0)
                if pid in baseline and cpu <= 0.01:
                    continue
                entry = roles.setdefault(info.role, {"processes": 0, "cpu_s": 0.0,
                                                     "peak_rss_max": 0})
                entry["processes"] += 1
                entry["cpu_s"] += cpu
                entry["peak_rss_max"] = max(entry["peak_rss_max"], info.peak_rss)
        return roles
