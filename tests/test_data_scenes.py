"""Tests of cnnbook.data.make_detection_scenes: the generated detection data set."""

import numpy as np
import pytest

from cnnbook import data, detection


@pytest.fixture(scope="module")
def scenes():
    return data.make_detection_scenes(60, image_size=64, max_objects=4, num_classes=3, seed=3)


def test_shapes_and_dtypes(scenes):
    images, boxes, labels = scenes
    assert images.shape == (60, 64, 64, 3) and images.dtype == np.float32
    assert len(boxes) == len(labels) == 60
    assert all(b.shape == (len(lab), 4) for b, lab in zip(boxes, labels))


def test_pixels_are_in_unit_range(scenes):
    images, _, _ = scenes
    assert images.min() >= 0 and images.max() <= 1


def test_object_counts_between_one_and_max_objects(scenes):
    _, boxes, _ = scenes
    counts = [len(b) for b in boxes]
    assert min(counts) >= 1 and max(counts) <= 4


def test_every_class_appears_and_no_other(scenes):
    _, _, labels = scenes
    assert set(np.concatenate(labels).tolist()) == {0, 1, 2}


def test_boxes_are_inside_the_image_and_not_empty(scenes):
    _, boxes, _ = scenes
    every = np.concatenate(boxes)
    assert every.min() >= 0 and every.max() <= 64
    assert np.all(every[:, 2:] > every[:, :2])


def test_sizes_respect_size_range():
    _, boxes, _ = data.make_detection_scenes(30, image_size=100, size_range=(0.2, 0.3), seed=1)
    sides = np.concatenate([b[:, 2:] - b[:, :2] for b in boxes])
    # a side is size * sqrt(aspect) with aspect in [0.7, 1.4], rounded out to whole pixels
    assert sides.min() >= 0.2 * 100 * np.sqrt(0.7) - 2
    assert sides.max() <= 0.3 * 100 * np.sqrt(1.4) + 2


def test_no_box_covers_more_than_max_covered_of_another(scenes):
    _, boxes, _ = scenes
    for b in boxes:
        for i in range(len(b)):
            for j in range(i + 1, len(b)):
                overlap = np.clip(
                    np.minimum(b[i, 2:], b[j, 2:]) - np.maximum(b[i, :2], b[j, :2]), 0, None
                )
                smaller = min(detection.box_area(b[[i]])[0], detection.box_area(b[[j]])[0])
                assert overlap.prod() <= 0.4 * smaller + 1e-9


def test_some_objects_overlap(scenes):
    _, boxes, _ = scenes
    overlapping = [np.any(np.triu(detection.iou(b, b), k=1) > 0) for b in boxes]
    assert any(overlapping)


def test_box_is_tight_around_the_shape_of_the_last_drawn_object():
    """With one object, every side of its box touches a pixel of the object's colour."""
    images, boxes, _ = data.make_detection_scenes(20, image_size=64, max_objects=1, seed=5)
    for image, (box,) in zip(images, boxes):
        x1, y1, x2, y2 = box.astype(int)
        centre_x, centre_y = (x1 + x2) // 2, (y1 + y2) // 2  # inside every shape
        around_centre = image[centre_y - 1 : centre_y + 2, centre_x - 1 : centre_x + 2]
        colour = np.median(around_centre, axis=(0, 1))
        inside = np.abs(image[y1:y2, x1:x2] - colour).max(axis=-1) < 0.2  # noise has sd 0.03
        rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
        assert rows[0] == 0 and rows[-1] == y2 - y1 - 1
        assert cols[0] == 0 and cols[-1] == x2 - x1 - 1


def test_same_seed_same_scenes():
    first = data.make_detection_scenes(5, image_size=32, seed=7)
    second = data.make_detection_scenes(5, image_size=32, seed=7)
    np.testing.assert_array_equal(first[0], second[0])
    for a, b in zip(first[1], second[1]):
        np.testing.assert_array_equal(a, b)


def test_different_seeds_differ():
    first = data.make_detection_scenes(3, image_size=32, seed=1)
    second = data.make_detection_scenes(3, image_size=32, seed=2)
    assert not np.array_equal(first[0], second[0])


def test_num_classes_limits_labels():
    _, _, labels = data.make_detection_scenes(20, image_size=32, num_classes=1, seed=0)
    assert set(np.concatenate(labels).tolist()) == {0}


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_images": 0}, "num_images must be a positive int"),
        ({"image_size": 32.0}, "image_size must be a positive int"),
        ({"max_objects": 0}, "max_objects must be a positive int"),
        ({"num_classes": 4}, "num_classes must be at most 3"),
        ({"size_range": (0.5, 0.2)}, "size_range"),
        ({"size_range": (0.0, 0.2)}, "size_range"),
    ],
)
def test_rejects_bad_arguments(kwargs, match):
    arguments = {"num_images": 2, "image_size": 32} | kwargs
    with pytest.raises(ValueError, match=match):
        data.make_detection_scenes(**arguments)
