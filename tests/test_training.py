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


def test_augmentation_leaves_out_the_layers_whose_factor_is_zero():
    kinds = [type(layer).__name__ for layer in training.augmentation(shift=0, zoom=0).layers]
    assert kinds == ["RandomFlip", "RandomRotation"]
    only_shift = training.augmentation(shift=0.25, rotation=0, zoom=0, flip=None)
    assert [type(layer).__name__ for layer in only_shift.layers] == ["RandomTranslation"]
    assert only_shift.layers[0].height_factor == only_shift.layers[0].width_factor == 0.25


def test_augmentation_fill_mode_reaches_every_moving_layer():
    default = training.augmentation()
    assert [layer.fill_mode for layer in default.layers[1:]] == ["nearest"] * 3
    reflect = training.augmentation(fill_mode="reflect")
    assert [layer.fill_mode for layer in reflect.layers[1:]] == ["reflect"] * 3


@pytest.mark.slow  # trains eleven tiny networks: 20-40 s
def test_small_runs_record_each_run_and_seed_with_its_best_epoch_reloaded(tmp_path):
    from cnnbook import train_classifier

    settings = dict(train_classifier.SMALL_SETTINGS, num_train=48, num_validation=30, num_test=20,
                    num_small=40, num_check=30, epochs=3, batch_size=16,
                    batch_norm_images=48, batch_norm_epochs=2, seeds=[0, 1], batch_norm_seeds=[0])
    record = train_classifier.small_runs(tmp_path, settings)
    assert record == json.loads((tmp_path / "small_runs.json").read_text())
    assert list(record["runs"]) == list(train_classifier.SMALL_RUNS)
    for name, runs in record["runs"].items():
        assert [run["seed"] for run in runs] == [0, 1], name
        assert runs[0]["history"] != runs[1]["history"], name  # the seed changes the run
        for run in runs:
            history = run["history"]
            assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
            assert all(len(values) == 3 for values in history.values()), name
            assert run["best_epoch"] == int(np.argmax(history["val_accuracy"])) + 1
            # The model loaded back from the checkpoint scores its epoch's validation accuracy.
            assert run["best_epoch_accuracy"]["validation"] == pytest.approx(max(history["val_accuracy"]), abs=1e-3)
            # The last epoch, scored at inference before the best is loaded back, scores its own validation accuracy.
            assert run["last_epoch_accuracy"]["validation"] == pytest.approx(history["val_accuracy"][-1], abs=1e-3)
            assert sorted(run["last_epoch_accuracy"]) == sorted(run["best_epoch_accuracy"]) == ["test", "training", "validation"]
    for name, runs in record["batch_norm"].items():
        (run,) = runs
        assert len(run["batch_losses"]) == 2 * 3, name  # 2 epochs of 48 images in batches of 16
        # Each batch's own loss, recovered from Keras' running means: their mean is the epoch's mean loss.
        epochs = np.reshape(run["batch_losses"], (2, 3))
        assert run["epoch_losses"] == pytest.approx(epochs.mean(axis=1), abs=1e-3), name
        assert not np.allclose(epochs[:, 2], run["epoch_losses"], atol=1e-4), name  # not the running means


def test_small_run_rejects_an_unknown_run(tmp_path):
    from cnnbook import train_classifier

    with pytest.raises(ValueError, match="name"):
        train_classifier.small_run("no such run", None, None, None, tmp_path)


def test_small_runs_build_the_network_each_name_says():
    # Which runs have dropout and which train through the augmentation, by name.
    from cnnbook import train_classifier

    names = train_classifier.SMALL_RUNS
    assert [name in names[1::2] for name in names] == [False, True, False, True]
    assert [name in names[2:] for name in names] == [False, False, True, True]
    assert names[3] == "dropout and augmentation"


def test_shipped_small_runs_match_their_settings():
    record = training.load_small_runs()
    settings = record["settings"]
    epochs = settings["epochs"]
    assert list(record["runs"]) == ["no dropout, no augmentation", "dropout", "augmentation",
                                    "dropout and augmentation"]
    for runs in record["runs"].values():
        assert [run["seed"] for run in runs] == settings["seeds"]
        for run in runs:
            assert all(len(values) == epochs for values in run["history"].values())
            assert run["best_epoch"] == int(np.argmax(run["history"]["val_accuracy"])) + 1
            assert run["best_epoch_accuracy"]["validation"] == pytest.approx(max(run["history"]["val_accuracy"]),
                                                                             abs=1e-3)
            assert run["last_epoch_accuracy"]["validation"] == pytest.approx(run["history"]["val_accuracy"][-1],
                                                                             abs=1e-3)
    for runs in record["batch_norm"].values():
        assert [run["seed"] for run in runs] == settings["batch_norm_seeds"]
        for run in runs:
            steps = settings["batch_norm_images"] // settings["batch_size"] + 1  # 62 batches of 32, one of 16
            assert len(run["batch_losses"]) == settings["batch_norm_epochs"] * steps
            sizes = np.full(steps, settings["batch_size"])
            sizes[-1] = settings["batch_norm_images"] - (steps - 1) * settings["batch_size"]
            means = np.reshape(run["batch_losses"], (-1, steps)) @ sizes / sizes.sum()
            assert run["epoch_losses"] == pytest.approx(means, abs=2e-3)


def check_invariance_record(record):
    """The checks that hold for any invariance record, shipped or quick."""
    from cnnbook import data, train_classifier

    settings = record["settings"]
    moves = settings["moves"]
    assert list(record["runs"]) == list(train_classifier.AUGMENTATIONS)
    # Which objects a move cuts, recomputed from the test set's boxes.
    test_seed = np.random.SeedSequence(settings["seed"]).spawn(3)[2]
    _, _, boxes, _ = data.make_shapes(settings["num_test"], seed=test_seed, return_boxes=True)
    assert record["cut"] == [int((boxes[:, 2:] + m > 32).any(axis=1).sum()) for m in moves]
    assert record["cut"][moves.index(0)] == 0
    for name, runs in record["runs"].items():
        assert [run["seed"] for run in runs] == settings["seeds"], name
        for run in runs:
            assert run["augmentation"] == train_classifier.AUGMENTATIONS[name]
            for kind in ("moved", "edge_filled"):
                scores = run[kind]
                assert all(len(scores[part]) == len(moves) for part in ("all", "inside", "cut"))
                # Moved or shifted by 0: the test images as they are.
                assert scores["all"][moves.index(0)] == run["test_accuracy"]
                for m, cut, everything, inside, outside in zip(moves, record["cut"], scores["all"],
                                                               scores["inside"], scores["cut"]):
                    assert (outside is None) == (cut == 0), (name, kind, m)
                    assert (inside is None) == (cut == settings["num_test"]), (name, kind, m)
                    if outside is not None and cut < settings["num_test"]:
                        # all = the two parts weighted by their counts
                        n = settings["num_test"]
                        assert everything == pytest.approx(((n - cut) * inside + cut * outside) / n, abs=1e-9)
            assert len(run["turned"]) == len(settings["turns"])
            assert run["turned"][settings["turns"].index(0)] == run["test_accuracy"]
            # The images got right, image by image, give every accuracy of the record.
            right = run["right"]
            assert [len(right[kind]) for kind in ("moved", "edge_filled", "turned")] == [len(moves)] * 2 + [
                len(settings["turns"])]
            assert [float(hits.mean()) for hits in right["turned"]] == run["turned"]
            for kind in ("moved", "edge_filled"):
                assert [float(hits.mean()) for hits in right[kind]] == run[kind]["all"]
                for m, hits in zip(moves, right[kind]):
                    cut = (boxes[:, 2:] + m > 32).any(axis=1)
                    if cut.any():
                        assert float(hits[cut].mean()) == run[kind]["cut"][moves.index(m)]


def test_shipped_invariance_runs_are_consistent():
    record = training.load_invariance_runs()
    check_invariance_record(record)
    assert record["command"] == "python -m cnnbook.train_classifier --only invariance"


@pytest.mark.slow  # trains five tiny networks: 20-40 s
def test_quick_invariance_record_runs_and_is_consistent(tmp_path, monkeypatch):
    from cnnbook import train_classifier

    train_classifier.main(["--only", "invariance", "--quick", "--out", str(tmp_path)])
    monkeypatch.setattr(training, "WEIGHTS_DIR", tmp_path)
    record = training.load_invariance_runs()
    assert record["command"] == f"python -m cnnbook.train_classifier --only invariance --quick --out {tmp_path}"
    assert record["settings"]["num_train"] == train_classifier.QUICK["num_train"]
    check_invariance_record(record)


@pytest.mark.slow  # trains two tiny networks twice: 20-40 s
def test_invariance_record_from_shared_parts_is_the_record_of_one_process(tmp_path):
    # Two processes sharing --parts: one finds a network locked by the other and leaves it;
    # the record, written when every part is done, equals one process's record.
    from cnnbook import train_classifier

    whole = train_classifier.invariance_runs(tmp_path, train_classifier.QUICK_INVARIANCE, "x")
    parts, out = tmp_path / "parts", tmp_path / "shared"
    parts.mkdir(), out.mkdir()
    (parts / "1-0.lock").touch()  # another process is training the second augmentation
    assert train_classifier.invariance_runs(out, train_classifier.QUICK_INVARIANCE, "x", parts) is None
    assert not (out / "invariance_runs.json").exists()
    assert sorted(path.name for path in parts.iterdir()) == ["0-0.json", "1-0.lock"]
    (parts / "1-0.lock").unlink()  # it stopped without finishing: a new run trains that network only
    shared = train_classifier.invariance_runs(out, train_classifier.QUICK_INVARIANCE, "x", parts)
    for name in whole["runs"]:
        for one, other in zip(whole["runs"][name], shared["runs"][name]):
            assert {k: v for k, v in one.items() if not k.endswith("seconds")} == \
                   {k: v for k, v in other.items() if not k.endswith("seconds")}, name


def test_quick_mode_refuses_to_overwrite_the_shipped_records():
    from cnnbook import train_classifier

    with pytest.raises(SystemExit):
        train_classifier.main(["--only", "invariance", "--quick"])


def test_load_records_name_the_script_when_missing(monkeypatch, tmp_path):
    monkeypatch.setattr(training, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(ValueError, match="--only invariance"):
        training.load_invariance_runs()
    with pytest.raises(ValueError, match="--only small"):
        training.load_small_runs()
