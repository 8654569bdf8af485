"""What image tags and faces add to the description of one photo.

``python -m benchmarks.vision [--repeats 7] [--corpus DIR]`` describes each photo with the
image path as it was (``image_tags=False``: facts, EXIF, colours, OCR, thumbnail) and with
tags and faces, alternately in one process after the models are loaded, and prints the
median wall and CPU time of each, the added cost and the ratio; then the models' load time
and resident memory. Photos: the real photos other packages ship, committed in
tests/realworld/photos (see sources.json there), plus the development corpus's own photos when
it is there.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time
from pathlib import Path
from typing import Any

from fileproc_dagster.describe.images.describe import describe_image
from fileproc_dagster.describe.model import ExtractOptions

_PHOTOS = Path(__file__).resolve().parents[1] / "tests" / "realworld" / "photos"
_REAL_PHOTOS = ("wand_tiger.jpg", "matplotlib_grace_hopper.jpg", "opencv_fruits.jpg",
                "opencv_licenseplate_motion.jpg", "opencv_plant.jpg", "opencv_home.jpg")
# The corpus's copies of scikit-image's sample photos are left out: those are kept for
# independent checks.
_CORPUS_PHOTOS = ("DSC_7750_large.jpg",)


def photos(corpus: Path | None) -> list[Path]:
    found = [_PHOTOS / n for n in _REAL_PHOTOS]
    if corpus is not None and corpus.is_dir():
        found += [corpus / n for n in _CORPUS_PHOTOS if (corpus / n).is_file()]
    return found


def _cpu() -> float:
    """CPU of this process and of its finished children (tesseract)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _timed(path: Path, options: ExtractOptions) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), _cpu()
    describe_image(path, options)
    return time.perf_counter() - wall, _cpu() - cpu


def _rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(paths: list[Path], repeats: int) -> dict[str, Any]:
    from fileproc_dagster.describe.images.vision import models

    plain, tagged = ExtractOptions(image_tags=False), ExtractOptions()
    for path in paths:  # first decodes, tesseract start, caches
        _timed(path, plain)
    before = _rss_mib()
    start = time.perf_counter()
    models()
    load_s, load_mib = time.perf_counter() - start, _rss_mib() - before
    rows: list[dict[str, Any]] = []
    for path in paths:
        _timed(path, tagged)  # onnxruntime's first run of a shape allocates
        base, tags = [], []
        for _ in range(repeats):
            base.append(_timed(path, plain))
            tags.append(_timed(path, tagged))
        row: dict[str, Any] = {"photo": path.name,
                               "plain_ms": statistics.median(w for w, _ in base) * 1000,
                               "tagged_ms": statistics.median(w for w, _ in tags) * 1000,
                               "plain_cpu_ms": statistics.median(c for _, c in base) * 1000,
                               "tagged_cpu_ms": statistics.median(c for _, c in tags) * 1000}
        row["added_ms"] = row["tagged_ms"] - row["plain_ms"]
        row["added_cpu_ms"] = row["tagged_cpu_ms"] - row["plain_cpu_ms"]
        rows.append(row)
    return {
        "photos": rows, "repeats": repeats, "model_load_s": load_s, "model_rss_mib": load_mib,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "median_added_ms": statistics.median(r["added_ms"] for r in rows),
        "median_added_cpu_ms": statistics.median(r["added_cpu_ms"] for r in rows),
        "median_ratio": statistics.median(r["tagged_ms"] / r["plain_ms"] for r in rows),
        "median_cpu_ratio": statistics.median(r["tagged_cpu_ms"] / r["plain_cpu_ms"]
                                              for r in rows),
    }


def report(result: dict[str, Any]) -> str:
    lines = [f"{'photo':28} {'plain ms':>9} {'tagged ms':>10} {'added ms':>9} "
             f"{'plain CPU':>10} {'added CPU ms':>13} {'ratio':>6}"]
    for r in result["photos"]:
        lines.append(f"{r['photo'][:28]:28} {r['plain_ms']:9.1f} {r['tagged_ms']:10.1f} "
                     f"{r['added_ms']:9.1f} {r['plain_cpu_ms']:10.1f} {r['added_cpu_ms']:13.1f} "
                     f"{r['tagged_ms'] / r['plain_ms']:6.2f}")
    lines.append(f"median added per photo: {result['median_added_ms']:.1f} ms wall, "
                 f"{result['median_added_cpu_ms']:.1f} ms CPU (target <= 100 ms); median "
                 f"ratio tagged/plain {result['median_ratio']:.2f} wall, "
                 f"{result['median_cpu_ratio']:.2f} CPU")
    lines.append(f"models: loaded in {result['model_load_s']:.2f} s, "
                 f"+{result['model_rss_mib']:.0f} MiB resident; peak "
                 f"{result['peak_rss_mib']:.0f} MiB; medians of {result['repeats']} runs")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=Path(os.environ.get(
        "FILEPROC_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    result = measure(photos(args.corpus), args.repeats)
    print(json.dumps(result, indent=2) if args.json else report(result))


if __name__ == "__main__":
    main()
