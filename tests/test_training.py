"""Tests of cnnbook.training: the classic convnet, augmentation, shifted and rotated images."""

import json

import numpy as np
import pytest

from cnnbook import training


def test_classic_convnet_has_the_seeds_layers_and_parameter_count():
    model = training.classic_convnet()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Rescaling", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Conv2D",
                     "MaxPooling2D", "Dropout", "Flatten", "Dense", "Dropout", "Dense"]
    assert [model.get_layer(f"conv{k}").filters for k in (1, 2, 3)] == [16, 32, 64]
    assert all(model.get_layer(f"conv{k}").kernel_size == (2, 2) for k in (1, 2, 3))
    assert [model.get_layer(n).rate for n in ("dropout1", "dropout2")] == [0.3, 0.4]
    # 2·2·3·16+16 + 2·2·16·32+32 + 2·2·32·64+64 + (4·4·64+1)·500 + (500+1)·10
    assert model.count_params() == 208 + 2080 + 8256 + 512_500 + 5010


def test_classic_convnet_options_drop_dropout_and_add_batch_norm():
    plain = training.classic_convnet(dropout=False)
    assert not any(type(layer).__name__ == "Dropout" for layer in plain.layers)
    normed = training.classic_convnet(batch_norm=True)
    assert sum(type(layer).__name__ == "BatchNormalization" for layer in normed.layers) == 3
    assert not normed.get_layer("conv1").use_bias


def test_classic_convnet_scales_uint8_images_to_unit_range():
    model = training.classic_convnet()
    assert model.layers[0].scale == pytest.approx(1 / 255)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_classic_convnet_rejects_a_bad_size(bad):
    with pytest.raises(ValueError, match="image_size"):
        training.classic_convnet(image_size=bad)


def test_augmentation_is_identity_at_inference_and_moves_images_in_training():
    images = np.random.default_rng(0).uniform(0, 255, (8, 32, 32, 3)).astype(np.float32)
    layers = training.augmentation(seed=1)
    np.testing.assert_array_equal(np.asarray(layers(images, training=False)), images)
    moved = np.asarray(layers(images, training=True))
    assert moved.shape == images.shape
    assert not np.allclose(moved, images)


def test_augmentation_has_the_four_layers_in_order():
    kinds = [type(layer).__name__ for layer in training.augmentation().layers]
    assert kinds == ["RandomFlip", "RandomTranslation", "RandomRotation", "RandomZoom"]
    assert [type(layer).__name__ for layer in training.augmentation(flip=None).layers][0] == "RandomTranslation"


def test_shift_images_moves_content_and_repeats_the_edge():
    images = np.arange(2 * 4 * 5 * 3).reshape(2, 4, 5, 3)
    shifted = training.shift_images(images, 1, -2)
    np.testing.assert_array_equal(shifted[:, 1:, :3], images[:, :3, 2:])
    np.testing.assert_array_equal(shifted[:, 0, :3], images[:, 0, 2:])  # top row repeated
    np.testing.assert_array_equal(shifted[:, 1:, 3], images[:, :3, 4])  # right column repeated
    np.testing.assert_array_equal(training.shift_images(images, 0, 0), images)


@pytest.mark.parametrize("rows, cols", [(5, 0), (0, -6), (1.5, 0)])
def test_shift_images_rejects_shifts_beyond_the_image(rows, cols):
    with pytest.raises(ValueError):
        training.shift_images(np.zeros((1, 4, 5, 3)), rows, cols)


def test_rotate_images_quarter_turn_matches_rot90_and_keeps_dtype():
    images = np.random.default_rng(2).integers(0, 256, (3, 6, 6, 3)).astype(np.uint8)
    rotated = training.rotate_images(images, 90)
    assert rotated.dtype == np.uint8
    np.testing.assert_array_equal(rotated, np.rot90(images, k=1, axes=(1, 2)))
    np.testing.assert_array_equal(training.rotate_images(images, 0), images)


def test_rotate_images_rejects_a_single_image():
    with pytest.raises(ValueError, match="shape"):
        training.rotate_images(np.zeros((6, 6, 3)), 10)


def test_load_classic_convnet_names_the_script_when_missing():
    with pytest.raises(ValueError, match="train_classifier"):
        training.load_classic_convnet("no_such_network")


@pytest.mark.slow  # trains five tiny networks: 20-35 s
def test_small_runs_record_each_run_with_its_best_epoch_reloaded(tmp_path):
    from cnnbook import train_classifier

    settings = dict(train_classifier.SMALL_SETTINGS, num_train=48, num_validation=30, num_test=20,
                    num_small=40, num_check=30, epochs=3, batch_size=16,
                    batch_norm_images=48, batch_norm_epochs=2)
    record = train_classifier.small_runs(tmp_path, settings)
    assert record == json.loads((tmp_path / "small_runs.json").read_text())
    assert list(record["runs"]) == list(train_classifier.SMALL_RUNS)
    for name, run in record["runs"].items():
        history = run["history"]
        assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
        assert all(len(values) == 3 for values in history.values()), name
        assert run["best_epoch"] == int(np.argmax(history["val_accuracy"])) + 1
        # The model loaded back from the checkpoint scores its epoch's validation accuracy.
        assert run["best_epoch_accuracy"]["validation"] == pytest.approx(max(history["val_accuracy"]), abs=1e-3)
        # The last epoch, scored at inference before the best is loaded back, scores its own validation accuracy.
        assert run["last_epoch_accuracy"]["validation"] == pytest.approx(history["val_accuracy"][-1], abs=1e-3)
        assert sorted(run["last_epoch_accuracy"]) == sorted(run["best_epoch_accuracy"]) == ["test", "training", "validation"]
    for name, run in record["batch_norm"].items():
        assert len(run["batch_losses"]) == 2 * 3, name  # 2 epochs of 48 images in batches of 16
        # Each batch's own loss, recovered from Keras' running means: their mean is the epoch's mean loss.
        epochs = np.reshape(run["batch_losses"], (2, 3))
        assert run["epoch_losses"] == pytest.approx(epochs.mean(axis=1), abs=1e-3), name
        assert not np.allclose(epochs[:, 2], run["epoch_losses"], atol=1e-4), name  # not the running means


def test_small_run_rejects_an_unknown_run(tmp_path):
    from cnnbook import train_classifier

    with pytest.raises(ValueError, match="name"):
        train_classifier.small_run("no such run", None, None, None, tmp_path)


def test_shipped_small_runs_match_their_settings():
    record = training.load_small_runs()
    epochs = record["settings"]["epochs"]
    for run in record["runs"].values():
        assert all(len(values) == epochs for values in run["history"].values())
        assert run["best_epoch"] == int(np.argmax(run["history"]["val_accuracy"])) + 1
        assert run["best_epoch_accuracy"]["validation"] == pytest.approx(max(run["history"]["val_accuracy"]),
                                                                         abs=1e-3)
        assert run["last_epoch_accuracy"]["validation"] == pytest.approx(run["history"]["val_accuracy"][-1], abs=1e-3)
    for run in record["batch_norm"].values():
        steps = record["settings"]["batch_norm_images"] // record["settings"]["batch_size"] + 1  # 62 batches of 32, one of 16
        assert len(run["batch_losses"]) == record["settings"]["batch_norm_epochs"] * steps
        sizes = np.full(steps, record["settings"]["batch_size"])
        sizes[-1] = record["settings"]["batch_norm_images"] - (steps - 1) * record["settings"]["batch_size"]
        means = np.reshape(run["batch_losses"], (-1, steps)) @ sizes / sizes.sum()
        assert run["epoch_losses"] == pytest.approx(means, abs=2e-3)
