"""Tests of cnnbook.pretrain and cnnbook.models.load_pretrained_base: the course's pretrained base."""

import json

import numpy as np
import pytest

from cnnbook import data, models, pretrain, shapes

keras = pytest.importorskip("keras")


def test_source_classes_are_twenty_shapes_none_of_them_a_target():
    assert len(pretrain.SOURCE_CLASSES) == 20
    assert not set(pretrain.SOURCE_CLASSES) & set(data.SHAPE_CLASSES)
    assert set(pretrain.SOURCE_CLASSES) <= set(shapes.ALL_SHAPES)


def test_source_data_is_balanced_and_mixes_clutter_levels():
    images, labels = pretrain.make_source_data(4 * pretrain.CHUNK, seed=3)
    assert images.shape == (4 * pretrain.CHUNK, 32, 32, 3) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=20).tolist() == [4 * pretrain.CHUNK // 20] * 20
    # chunk k is drawn with clutter CLUTTER_LEVELS[k]: the same as make_shapes' own call
    seeds = np.random.SeedSequence(3).spawn(4)
    third, _ = data.make_shapes(pretrain.CHUNK, seed=seeds[2], classes=pretrain.SOURCE_CLASSES,
                                clutter=pretrain.CLUTTER_LEVELS[2], size_range=pretrain.SIZE_RANGE)
    np.testing.assert_array_equal(images[2 * pretrain.CHUNK : 3 * pretrain.CHUNK], third)


def test_base_has_named_blocks_and_a_bottleneck():
    base = pretrain.build_base()
    assert base.name == pretrain.BASE_NAME
    assert base.input_shape == (None, 32, 32, 3) and base.output_shape == (None, 64)
    assert base.layers[-1].name == "bottleneck"
    assert isinstance(base.layers[-1], keras.layers.GlobalAveragePooling2D)
    top = [layer for layer in base.layers if layer.name.startswith(pretrain.TOP_BLOCK)]
    assert [layer.name for layer in top] == [
        "block3_conv1", "block3_bn1", "block3_relu1", "block3_conv2", "block3_bn2", "block3_relu2"]
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in base.layers) == 6


def test_tiny_run_refuses_to_overwrite_the_shipped_weights():
    with pytest.raises(SystemExit):
        pretrain.main(["--tiny"])


@pytest.mark.slow
def test_tiny_run_writes_loadable_weights_and_a_record(tmp_path):
    pretrain.main(["--tiny", "--out", str(tmp_path)])
    record = json.loads((tmp_path / pretrain.RECORD_PATH.name).read_text())
    assert record["command"] == f"python -m cnnbook.pretrain --tiny --out {tmp_path}"
    assert record["arguments"]["num_train"] == pretrain.TINY["num_train"]
    assert record["data"]["classes"] == list(pretrain.SOURCE_CLASSES)
    assert set(record["versions"]) == {"python", "numpy", "tensorflow", "keras"}
    assert record["training_seconds"]["cpu"] > 0 and len(record["load_average"]["before"]) == 3
    assert 0 <= record["test"]["accuracy"] <= 1 and record["test"]["num_test"] == pretrain.TINY["num_test"]
    weights = tmp_path / pretrain.WEIGHTS_PATH.name
    assert record["weights_bytes"] == weights.stat().st_size
    model = pretrain.load_source_classifier(weights)
    assert pretrain.evaluate(model, pretrain.TINY["num_test"]) == record["test"]


def test_shipped_record_describes_the_shipped_weights():
    record = json.loads(pretrain.RECORD_PATH.read_text())
    assert record["command"] == "python -m cnnbook.pretrain"
    assert record["data"]["classes"] == list(pretrain.SOURCE_CLASSES)
    assert record["data"]["chunk"] == pretrain.CHUNK
    assert record["data"]["size_range"] == list(pretrain.SIZE_RANGE)
    assert record["data"]["test_seed"] == pretrain.TEST_SEED
    width = record["arguments"]["width"]
    model = pretrain.build_classifier(pretrain.build_base(width))
    assert record["parameters"] == model.count_params()
    assert record["layers"] == [layer.name for layer in model.get_layer(pretrain.BASE_NAME).layers]
    assert record["weights_bytes"] == pretrain.WEIGHTS_PATH.stat().st_size < 5e6
    assert record["test"]["accuracy"] >= 0.9


@pytest.mark.slow
def test_shipped_base_reaches_its_recorded_source_accuracy():
    # Evaluation only (no training): another CPU rounds differently, hence the margin.
    record = json.loads(pretrain.RECORD_PATH.read_text())
    scores = pretrain.evaluate(pretrain.load_source_classifier(), record["test"]["num_test"])
    assert scores["accuracy"] >= record["test"]["accuracy"] - 0.02
    assert scores["accuracy"] >= 0.88


def test_load_pretrained_base_is_frozen_by_default_and_matches_the_shipped_weights():
    base = models.load_pretrained_base()
    assert base.trainable is False and base.trainable_weights == []
    shipped = pretrain.load_source_classifier().get_layer(pretrain.BASE_NAME)
    for ours, theirs in zip(base.get_weights(), shipped.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    images, _ = pretrain.make_source_data(8, seed=1)
    np.testing.assert_allclose(base(images, training=False), shipped(images, training=False),
                               rtol=1e-5, atol=1e-6)


def test_load_pretrained_base_trainable_unfreezes_every_layer():
    base = models.load_pretrained_base(trainable=True)
    assert len(base.trainable_weights) == 6 + 2 * 6  # 6 kernels (no biases); 6 gammas, 6 betas
    assert all(layer.trainable for layer in base.layers)
