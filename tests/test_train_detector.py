"""Tests of cnnbook.train_detector: the tiny YOLO, its data, training and shipped weights."""

import json

import numpy as np
import pytest

from cnnbook import data, detection, train_detector

keras = pytest.importorskip("keras")


def test_model_maps_images_to_the_yolo_grid():
    model = train_detector.build_model()
    assert model.input_shape == (None, 96, 96, 3)
    assert model.output_shape == (None, 6, 6, 2 * 5 + 3)


def test_model_outputs_are_squashed_boxes_and_class_probabilities():
    model = train_detector.build_model()
    output = model.predict(np.random.default_rng(0).uniform(size=(2, 96, 96, 3)), verbose=0)
    assert output[..., :10].min() >= 0 and output[..., :10].max() <= 1
    np.testing.assert_allclose(output[..., 10:].sum(axis=-1), 1, atol=1e-5)


def test_build_model_rejects_image_size_not_multiple_of_16():
    with pytest.raises(ValueError, match="image_size must be a multiple of 16"):
        train_detector.build_model(image_size=100)


def test_make_dataset_targets_match_encode_targets():
    images, targets, boxes, labels = train_detector.make_dataset(3, seed=2)
    assert images.shape == (3, 96, 96, 3) and targets.dtype == np.float32
    for target, b, lab in zip(targets, boxes, labels):
        np.testing.assert_allclose(target, detection.encode_targets(b, lab, 6, 2, 3, 96), atol=1e-6)


def test_mirror_boxes_mirrors_the_pixels():
    images, boxes, _ = data.make_detection_scenes(5, max_objects=1, seed=4)
    for image, box in zip(images, boxes):
        (x1, y1, x2, y2), = train_detector.mirror_boxes(box).astype(int)
        original = image[y1:y2, int(box[0, 0]):int(box[0, 2])]
        np.testing.assert_array_equal(image[:, ::-1][y1:y2, x1:x2], original[:, ::-1])


def test_mirror_boxes_twice_is_identity():
    boxes = np.array([[1.0, 2.0, 30.0, 40.0], [50.5, 0.0, 96.0, 10.0]])
    twice = train_detector.mirror_boxes(train_detector.mirror_boxes(boxes))
    np.testing.assert_array_equal(twice, boxes)


def test_shipped_record_describes_the_shipped_weights():
    record = json.loads(train_detector.RECORD_PATH.read_text())
    assert record["command"].startswith("python -m cnnbook.train_detector")
    assert record["parameters"] == train_detector.build_model().count_params()
    assert set(record["test"]) == {"map50", "map50_95", "num_test", "num_objects"}
    assert train_detector.WEIGHTS_PATH.stat().st_size < 5e6


@pytest.mark.slow
def test_shipped_detector_reaches_the_recorded_map():
    model = train_detector.load_detector()
    scores = train_detector.evaluate(model, num_test=100)
    assert scores["map50"] >= 0.9
    assert scores["map50_95"] <= scores["map50"]


@pytest.mark.slow
def test_training_is_deterministic_for_a_seed():
    settings = {"num_train": 40, "epochs": 1, "batch_size": 16, "validation": 8}
    first, history_first = train_detector.train(**settings)
    second, history_second = train_detector.train(**settings)
    assert history_first == history_second
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_predict_returns_one_detection_triple_per_image():
    model = train_detector.build_model()
    images, _, _ = data.make_detection_scenes(3, seed=0)
    found = train_detector.predict(model, images, score_threshold=0.0)
    assert len(found) == 3
    for boxes, scores, classes in found:
        assert boxes.shape == (len(scores), 4) and classes.shape == scores.shape
