"""The image ``size`` option: one side or [height, width], one rule everywhere."""

from __future__ import annotations

import json

import pytest

from dropout_studio.core.dataprobe import DataProblem, image_options
from dropout_studio.core.datasets import DatasetSpec, dataset_problems, known_signature
from dropout_studio.core.project import Project, ProjectError, load_project, save_project


def images(size):
    return DatasetSpec("images", path="pictures", options=(("channels", 3), ("size", size)))


@pytest.mark.parametrize(
    ("size", "sides"),
    [(64, (64, 64)), ([40], (40, 40)), ((64, 48), (64, 48)), ([32, 16], (32, 16))],
)
def test_one_side_or_height_and_width(size, sides):
    assert dataset_problems(images(size)) == []
    assert image_options(images(size)) == (*sides, 3)


@pytest.mark.parametrize("size", [0, 3, 5000, [], [1, 2, 3], "big", [64, 2.5], True])
def test_the_same_sizes_are_refused_by_the_check_and_the_loader(size):
    assert any("dataset size must be" in p for p in dataset_problems(images(size)))
    with pytest.raises(DataProblem, match="the image size must be a whole number or a list of 2"):
        image_options(images(size))


@pytest.mark.parametrize("size", [64, [64, 48]])
def test_a_project_with_an_image_size_loads_back_equal(tmp_path, size):
    path = tmp_path / "p.json"
    project = Project(dataset=images(64))
    save_project(project, path)
    text = json.loads(path.read_text())
    text["dataset"]["size"] = size
    path.write_text(json.dumps(text))
    loaded = load_project(path)
    assert loaded.dataset.option("size") == (tuple(size) if isinstance(size, list) else size)
    save_project(loaded, tmp_path / "again.json")
    assert load_project(tmp_path / "again.json") == loaded
    assert json.loads((tmp_path / "again.json").read_text())["dataset"]["size"] == size


def test_a_project_file_with_a_bad_size_names_the_field(tmp_path):
    path = tmp_path / "p.json"
    save_project(Project(dataset=images(64)), path)
    text = json.loads(path.read_text())
    text["dataset"]["size"] = [64, 64, 3]
    path.write_text(json.dumps(text))
    with pytest.raises(ProjectError, match=r"dataset\.size must be a whole number or a list of 2"):
        load_project(path)


def test_synthetic_images_may_be_rectangular():
    spec = DatasetSpec("synthetic", "shapes", options=(("channels", 1), ("size", (12, 20))))
    assert known_signature(spec).input_shape == (12, 20, 1)
