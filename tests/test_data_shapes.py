"""Tests of cnnbook.data.make_shapes, shapes_splits and load_cifar10 (offline)."""

import socket

import numpy as np
import pytest

from cnnbook import data, shapes


@pytest.fixture(scope="module")
def drawn():
    return data.make_shapes(600, seed=3, clutter=2, return_boxes=True)


def test_images_are_uint8_colour_and_labels_flat_ints(drawn):
    images, labels, boxes, masks = drawn
    assert images.shape == (600, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (600,) and labels.dtype == np.int64
    assert boxes.shape == (600, 4) and masks.shape == (600, 32, 32) and masks.dtype == bool


def test_classes_are_balanced_and_shuffled(drawn):
    labels = drawn[1]
    np.testing.assert_array_equal(np.bincount(labels), [60] * 10)
    assert len(set(labels[:10])) > 3  # not drawn class by class


def test_same_seed_same_images_other_seed_other_images():
    first, again, other = (data.make_shapes(50, seed=s) for s in (7, 7, 8))
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_images_are_the_same_whatever_the_chunk_size(monkeypatch):
    expected = data.make_shapes(300, seed=2)
    monkeypatch.setattr(data, "SHAPES_CHUNK", 7)
    for one, other in zip(expected, data.make_shapes(300, seed=2)):
        np.testing.assert_array_equal(one, other)


def test_every_object_is_whole_inside_its_image(drawn):
    _, _, boxes, masks = drawn
    assert masks.any(axis=(1, 2)).all()
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2:] <= 32).all()
    assert (boxes[:, 2:] > boxes[:, :2]).all()


def test_boxes_are_the_tight_boxes_of_the_masks(drawn):
    _, _, boxes, masks = drawn
    for box, mask in zip(boxes[:50], masks[:50]):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        np.testing.assert_array_equal(box, [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])


def test_object_stands_out_from_the_background(drawn):
    # The object's mean colour differs from the rest of the image, in every image.
    images, _, _, masks = drawn
    pixels = images.astype(float)
    inside = (pixels * masks[..., None]).sum(axis=(1, 2)) / masks.sum(axis=(1, 2))[:, None]
    outside = (pixels * ~masks[..., None]).sum(axis=(1, 2)) / (~masks).sum(axis=(1, 2))[:, None]
    distance = np.linalg.norm(inside - outside, axis=1) / 255
    assert np.quantile(distance, 0.02) > 0.2


def test_clutter_leaves_labels_and_objects_unchanged():
    plain = data.make_shapes(100, seed=5, return_boxes=True)
    cluttered = data.make_shapes(100, seed=5, clutter=3, return_boxes=True)
    np.testing.assert_array_equal(plain[1], cluttered[1])
    np.testing.assert_array_equal(plain[3], cluttered[3])
    assert not np.array_equal(plain[0], cluttered[0])


def test_upright_squares_are_axis_aligned():
    # With max_rotation=0 a square fills its whole box (it is only stretched, not turned).
    images, labels, boxes, masks = data.make_shapes(
        40, seed=1, classes=("square", "circle"), max_rotation=0, return_boxes=True)
    for box, mask in zip(boxes[labels == 0], masks[labels == 0]):
        x1, y1, x2, y2 = box.astype(int)
        assert mask[y1:y2, x1:x2].all() and mask.sum() == (x2 - x1) * (y2 - y1)


def test_size_range_sets_the_object_size():
    small = data.make_shapes(100, seed=0, classes=("circle",), size_range=(0.3, 0.3),
                             return_boxes=True)[2]
    large = data.make_shapes(100, seed=0, classes=("circle",), size_range=(0.9, 0.9),
                             return_boxes=True)[2]
    # A circle of radius 0.9 in the shape's frame: diameter 0.9 * size_range * 32 pixels,
    # give or take the 10 % stretch and a pixel of rounding.
    for boxes, fraction in ((small, 0.3), (large, 0.9)):
        width = boxes[:, 2] - boxes[:, 0]
        expected = 0.9 * fraction * 32
        assert (np.abs(width - expected) <= 0.1 * expected + 1.5).all()


def test_other_classes_come_from_the_source_catalogue():
    images, labels = data.make_shapes(40, classes=shapes.SOURCE_SHAPES)
    assert labels.max() == 19 and images.shape == (40, 32, 32, 3)


def test_image_size_is_respected():
    images, _, _, masks = data.make_shapes(5, image_size=64, return_boxes=True)
    assert images.shape == (5, 64, 64, 3) and masks.shape == (5, 64, 64)


@pytest.mark.parametrize("kwargs,match", [
    ({"num_images": 0}, "num_images"),
    ({"num_images": 2.0}, "num_images"),
    ({"image_size": 4}, "image_size"),
    ({"clutter": -1}, "clutter"),
    ({"classes": ("circle", "blob")}, "classes"),
    ({"classes": ("circle", "circle")}, "classes"),
    ({"size_range": (0.5, 1.2)}, "size_range"),
    ({"max_rotation": 270}, "max_rotation"),
    ({"noise": -0.1}, "noise"),
])
def test_bad_arguments_are_rejected(kwargs, match):
    kwargs = {"num_images": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        data.make_shapes(**kwargs)


def test_splits_have_their_sizes_and_share_no_image():
    splits = data.shapes_splits(200, 50, 60, seed=4)
    assert [len(x) for x, _ in splits] == [200, 50, 60]
    flat = [x.reshape(len(x), -1) for x, _ in splits]
    everything = np.concatenate(flat)
    assert len(np.unique(everything, axis=0)) == len(everything)
    again = data.shapes_splits(200, 50, 60, seed=4)
    for (x, y), (x_again, y_again) in zip(splits, again):
        np.testing.assert_array_equal(x, x_again)
        np.testing.assert_array_equal(y, y_again)


def test_splits_refuse_boxes():
    with pytest.raises(ValueError, match="make_shapes"):
        data.shapes_splits(10, 10, 10, return_boxes=True)


def test_load_cifar10_offline_names_make_shapes(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise OSError("network unreachable (simulated by the test)")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(socket, "create_connection", no_network)
    with pytest.raises(ConnectionError, match="make_shapes"):
        data.load_cifar10(timeout=1.0)


def test_load_cifar10_failed_download_names_make_shapes(tmp_path, monkeypatch):
    keras = pytest.importorskip("keras")

    class Reachable:
        def close(self):
            pass

    def failed_download(*args, **kwargs):
        raise Exception("URL fetch failure (simulated by the test)")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(socket, "create_connection", lambda *args, **kwargs: Reachable())
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", failed_download)
    with pytest.raises(ConnectionError, match="make_shapes"):
        data.load_cifar10(timeout=1.0)


@pytest.fixture(scope="module")
def unmoved():
    return data.make_shapes(200, seed=5, return_boxes=True)


def test_move_zero_and_turn_zero_give_the_images_as_drawn(unmoved):
    again = data.make_shapes(200, seed=5, return_boxes=True, move=(0, 0), turn=0)
    for one, other in zip(unmoved, again):
        np.testing.assert_array_equal(one, other)


def test_move_shifts_each_object_by_whole_pixels_over_the_same_background(unmoved):
    images, labels, boxes, masks = unmoved
    moved_images, moved_labels, moved_boxes, moved_masks = data.make_shapes(200, seed=5, return_boxes=True,
                                                                            move=(3, -2))
    np.testing.assert_array_equal(moved_labels, labels)
    inside = (boxes[:, 0] >= 2) & (boxes[:, 3] <= 29)  # still whole after 3 down and 2 left
    assert inside.sum() > 100
    np.testing.assert_array_equal(moved_boxes[inside] - boxes[inside], np.tile([-2, 3, -2, 3], (inside.sum(), 1)))
    np.testing.assert_array_equal(moved_masks[inside, 3:, :30], masks[inside, :29, 2:])
    # The background is not moved: where neither object lies, the pixels are those drawn.
    background = ~(masks | moved_masks)
    np.testing.assert_array_equal(moved_images[background], images[background])


def test_move_cuts_objects_at_the_frame_and_fills_no_border(unmoved):
    images, _, boxes, masks = unmoved
    moved_images, _, _, moved_masks = data.make_shapes(200, seed=5, return_boxes=True, move=(8, 8))
    cut = (boxes[:, 2:] + 8 > 32).any(axis=1)
    assert cut.any() and (~cut).any()
    assert (moved_masks[cut].sum(axis=(1, 2)) < masks[cut].sum(axis=(1, 2))).all()
    np.testing.assert_array_equal(moved_masks[~cut].sum(axis=(1, 2)), masks[~cut].sum(axis=(1, 2)))
    # The top rows, uncovered by the move, are the image's own background: no edge repeated.
    top = ~(masks[:, :8] | moved_masks[:, :8])
    np.testing.assert_array_equal(moved_images[:, :8][top], images[:, :8][top])


def test_turn_is_counter_clockwise_as_displayed():
    # An upright arrow points right; its head carries more pixels than its shaft, so the
    # mean of its pixels lies on the side it points to (by about half a pixel).
    def offsets(turn):
        _, _, boxes, masks = data.make_shapes(12, seed=3, classes=("arrow",), max_rotation=0,
                                              return_boxes=True, turn=turn)
        centres = [(np.nonzero(mask)[1].mean() + 0.5, np.nonzero(mask)[0].mean() + 0.5) for mask in masks]
        return np.mean(np.array(centres) - (boxes[:, :2] + boxes[:, 2:]) / 2, axis=0)  # (right, down)

    right, down = offsets(0)
    assert right > 0.25 and abs(down) < 0.15
    right, down = offsets(90)
    assert down < -0.25 and abs(right) < 0.15  # points up
    right, down = offsets(-90)
    assert down > 0.25 and abs(right) < 0.15  # points down


@pytest.mark.parametrize("kwargs, match", [({"move": 3}, "move"), ({"move": (1, 2, 3)}, "move"),
                                           ({"move": ("a", 0)}, "move"), ({"turn": "90"}, "turn"),
                                           ({"turn": True}, "turn")])
def test_bad_move_or_turn_is_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.make_shapes(2, **kwargs)


def test_shape_circles_hold_the_drawn_objects():
    """Each object's pixels lie in its circle (stretched by at most 10 %), which fits in the frame."""
    _, _, _, masks = data.make_shapes(300, seed=5, return_boxes=True)
    centres, radii = data.shape_circles(300, seed=5)
    assert ((centres - radii[:, None] >= 0) & (centres + radii[:, None] <= 32)).all()
    rows, cols = np.indices((32, 32)) + 0.5
    distance = np.hypot(cols - centres[:, 0, None, None], rows - centres[:, 1, None, None])
    farthest = np.where(masks, distance, 0).max(axis=(1, 2))
    assert (farthest <= 1.1 * radii + 1).all()
    assert (farthest >= 0.5 * radii).all()  # the objects fill their circles: not the circles of other images


def test_shape_circles_follow_make_shapes_moves():
    """A move shifts the object by the move: its mask's centre of mass moves with the circle's centre."""
    masks = data.make_shapes(200, seed=2, return_boxes=True)[3]
    moved = data.make_shapes(200, seed=2, move=(1, 1), return_boxes=True)[3]
    centres, radii = data.shape_circles(200, seed=2)
    inside = ((centres + 1 + radii[:, None]) <= 32).all(axis=1)  # moved circle still in the frame: nothing cut
    rows, cols = np.indices((32, 32)) + 0.5
    def centre_of_mass(m):
        return np.stack([(m * cols).sum((1, 2)), (m * rows).sum((1, 2))], 1) / m.sum((1, 2))[:, None]
    np.testing.assert_allclose(centre_of_mass(moved)[inside] - centre_of_mass(masks)[inside], 1, atol=0.35)


def test_shape_circles_check_arguments():
    """Bad arguments raise as in make_shapes."""
    with pytest.raises(ValueError, match="num_images"):
        data.shape_circles(0)
