"""What a photo shows: tags, coarse categories and faces, on real photos shipped by other
packages (tests/realworld/photos, see sources.json)."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from fileproc_dagster.describe.images.describe import describe_image
from fileproc_dagster.describe.images.efficientnet import read_state_dict
from fileproc_dagster.describe.images.vision import look
from fileproc_dagster.describe.model import ExtractOptions
from fileproc_dagster.settings import Settings

REPO = Path(__file__).resolve().parents[1]
PHOTOS_DIR = REPO / "tests" / "realworld" / "photos"
TIGER = PHOTOS_DIR / "wand_tiger.jpg"
PORTRAIT = PHOTOS_DIR / "matplotlib_grace_hopper.jpg"
FRUIT = PHOTOS_DIR / "opencv_fruits.jpg"

# photo -> (the coarse category it must get, faces in it)
PHOTOS = {
    TIGER: ("animal", 0),  # a tiger lying in foliage
    PORTRAIT: ("person", 1),  # Grace Hopper's portrait in uniform
    FRUIT: ("food", 0),  # cut oranges, lemons, a lime and a kiwi
    PHOTOS_DIR / "opencv_licenseplate_motion.jpg": ("vehicle", 0),  # a car's back, blurred
    PHOTOS_DIR / "opencv_plant.jpg": ("plant", 0),  # a leafy plant in a pot
    PHOTOS_DIR / "opencv_home.jpg": ("building", 0),  # a palace's towers against the sky
}


@pytest.mark.parametrize("path", list(PHOTOS), ids=lambda p: p.name)
def test_category_and_faces_of_real_photos(path: Path) -> None:
    category, faces = PHOTOS[path]
    with Image.open(path) as image:
        sight = look(image.convert("RGB"))
    assert sight.categories and sight.categories[0] == category, sight
    assert len(sight.faces) == faces, sight.faces
    details = sight.as_details()
    assert set(details) == {"tags", "categories", "faces"}


def test_tiger_is_tagged_as_a_tiger() -> None:
    with Image.open(TIGER) as image:
        sight = look(image.convert("RGB"))
    names = [t.name for t in sight.tags]
    assert names[0] == "tiger", names
    assert all(t.category == "animal" for t in sight.tags)
    assert sight.tags[0].score >= 0.3


def test_portrait_face_box_is_on_the_face() -> None:
    with Image.open(PORTRAIT) as image:
        big = image.convert("RGB").resize((1024, 1200))
    # Boxes are given in pixels of the picture at the width asked for, here twice the size.
    sight = look(big, width=2048)
    (face,) = sight.faces
    x, y, w, h = face.box
    assert face.score >= 0.9
    # At 512x600 the face is at about (182, 121) and 171x211: four times that here.
    assert 680 < x < 770 and 440 < y < 530 and 630 < w < 760 and 780 < h < 900, face.box
    assert sight.summary().endswith("; 1 face")


def test_photo_description_carries_tags_and_faces() -> None:
    result = describe_image(PORTRAIT, ExtractOptions())
    assert result.description.startswith("JPEG image 512x600; tags: ")
    assert result.description.endswith("; 1 face")
    assert result.details["categories"][0] == "person"
    assert result.details["faces"][0]["box"][2] > 50


def test_drawn_landscape_sample_has_no_face() -> None:
    result = describe_image(REPO / "samples" / "hills_photo.jpg", ExtractOptions())
    assert result.details["faces"] == []
    assert "face" not in result.description


def test_tags_can_be_turned_off() -> None:
    result = describe_image(FRUIT, ExtractOptions(image_tags=False))
    assert "tags" not in result.details and "faces" not in result.details
    assert result.description == "JPEG image 512x480"
    assert Settings.from_env({"FILEPROC_IMAGE_TAGS": "0"}).image_tags is False
    assert Settings.from_env({}).image_tags is True


_OFFLINE = """
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("networking is disabled in this test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from PIL import Image
from fileproc_dagster.describe.images.vision import Seer
sight = Seer().look(Image.open(sys.argv[1]).convert("RGB"))
print(sight.categories[0], len(sight.faces))
"""


def test_models_load_and_run_with_networking_disabled() -> None:
    done = subprocess.run([sys.executable, "-c", _OFFLINE, str(FRUIT)],
                          capture_output=True, text=True, timeout=120, cwd=REPO,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["food", "0"]


def test_weights_reader_refuses_foreign_objects(tmp_path: Path) -> None:
    evil = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {}):
        pickle.dump(header, evil)
    pickle.dump(subprocess.Popen, evil)  # any global beyond tensors must be refused
    path = tmp_path / "evil.pth"
    path.write_bytes(evil.getvalue())
    with pytest.raises(pickle.UnpicklingError, match="unexpected subprocess.Popen"):
        read_state_dict(path)
    path.write_bytes(b"PK\x03\x04 not a legacy file")
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do, never a load
        read_state_dict(path)


def test_tags_in_the_bounded_extraction_worker() -> None:
    from fileproc_dagster.describe import describe, warm_up
    from fileproc_dagster.describe.detect import detect
    from fileproc_dagster.workers.worker import DEFAULT_MEMORY_BYTES, Worker

    path = TIGER
    worker = Worker(DEFAULT_MEMORY_BYTES)
    try:
        worker.warm_up(warm_up)
        result = worker.call(describe, path, detect(path, ExtractOptions()), ExtractOptions(),
                             timeout_s=120, what="describing the tiger")
    finally:
        worker.kill()
    assert result.details["categories"][0] == "animal"
    assert "; tags: " in result.description


def test_launchpad_config_turns_tags_off() -> None:
    from fileproc_dagster.defs.assets import DescribeConfig
    from fileproc_dagster.defs.resources import ExtractorResource

    extractor = ExtractorResource(image_tags=True)
    assert extractor.options().image_tags is True
    config = DescribeConfig(image_tags=False)
    assert extractor.options(image_tags=config.image_tags).image_tags is False
    assert extractor.options(image_tags=DescribeConfig().image_tags).image_tags is True
    assert ExtractorResource(image_tags=False).options().image_tags is False
