"""Tests of cnnbook.transfer: bottleneck features, the transfer model, fine-tuning, the targets."""

import json

import numpy as np
import pytest

from cnnbook import data, models, pretrain, training, transfer

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def base():
    return models.load_pretrained_base()


@pytest.fixture(scope="module")
def images():
    return data.make_shapes(40, seed=7)[0]


def test_bottleneck_features_match_predict_and_ignore_batch_size(base, images):
    features = transfer.bottleneck_features(base, images, batch_size=16)
    assert features.shape == (40, 64) and features.dtype == np.float32
    np.testing.assert_allclose(features, base.predict(images, verbose=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(transfer.bottleneck_features(base, images, batch_size=7), features,
                               rtol=1e-5, atol=1e-6)
    # inference mode: one image's features do not depend on its batch
    np.testing.assert_allclose(transfer.bottleneck_features(base, images[:1]), features[:1],
                               rtol=1e-5, atol=1e-6)


def test_bottleneck_features_use_inference_mode_not_batch_statistics(images):
    base = models.load_pretrained_base(trainable=True)  # trainable: training=True would use batch statistics
    features = transfer.bottleneck_features(base, images)
    np.testing.assert_allclose(features, base.predict(images, verbose=0), rtol=1e-5, atol=1e-5)
    in_training = np.asarray(base(images.astype(np.float32), training=True))  # also moves the statistics
    assert not np.allclose(features, in_training, atol=1e-3)


def test_bottleneck_features_reject_a_bad_batch_size(base, images):
    with pytest.raises(ValueError, match="batch_size"):
        transfer.bottleneck_features(base, images, batch_size=0)


def test_cached_features_are_computed_once_then_loaded(base, images, tmp_path, monkeypatch):
    path = tmp_path / "sub" / "features.npz"
    first = transfer.cached_bottleneck_features(base, images, path)
    assert path.exists()
    np.testing.assert_allclose(first, transfer.bottleneck_features(base, images), rtol=1e-6)
    calls = []
    monkeypatch.setattr(transfer, "bottleneck_features",
                        lambda *args, **kwargs: calls.append(1) or np.zeros((len(images), 64)))
    np.testing.assert_array_equal(transfer.cached_bottleneck_features(base, images, path), first)
    assert calls == []
    # other images: recomputed and the file rewritten
    transfer.cached_bottleneck_features(base, images[:5], path)
    assert calls == [1]
    with np.load(path) as stored:
        assert stored["features"].shape == (len(images), 64)  # the monkeypatched result was stored
        assert str(stored["key"]) == transfer.fingerprint(base, images[:5])


def test_fingerprint_changes_with_the_weights(images):
    base = pretrain.build_base(width=2)
    key = transfer.fingerprint(base, images)
    moving_mean = base.get_layer("block1_bn1").moving_mean
    moving_mean.assign(moving_mean + 1.0)  # a non-trainable weight counts too
    assert transfer.fingerprint(base, images) != key
    assert transfer.fingerprint(base, images.astype(np.float32)) != transfer.fingerprint(base, images)


def test_transfer_model_freezes_the_base_and_trains_only_the_head(base):
    model = transfer.build_transfer_model(base, 7, dropout=0.3, augment=training.augmentation(seed=0))
    assert base.trainable is False
    assert [w.path for w in model.trainable_weights] == ["head/kernel", "head/bias"]
    head = model.get_layer("head")
    assert head.units == 7 and head.activation is keras.activations.softmax
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Sequential", "Functional", "Dropout", "Dense"]
    assert model.get_layer("head_dropout").rate == 0.3
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)
    assert model.loss == "sparse_categorical_crossentropy"
    no_dropout = transfer.build_transfer_model(base, 7, dropout=0)
    assert [type(layer).__name__ for layer in no_dropout.layers] == ["InputLayer", "Functional", "Dense"]


def test_transfer_model_training_changes_the_head_only_and_keeps_batch_norm_statistics(images):
    base = models.load_pretrained_base()
    model = transfer.build_transfer_model(base, 10)
    before = [np.array(w) for w in base.weights]
    head_before = np.array(model.get_layer("head").kernel)
    labels = np.arange(len(images)) % 10
    model.fit(images, labels, epochs=1, batch_size=20, verbose=0)
    for old, new in zip(before, base.weights):
        np.testing.assert_array_equal(old, np.asarray(new))
    assert not np.array_equal(head_before, np.asarray(model.get_layer("head").kernel))


def test_unfreeze_top_block_trains_only_the_top_block_and_recompiles(images):
    base = models.load_pretrained_base()
    model = transfer.build_transfer_model(base, 10)
    assert transfer.unfreeze_top_block(model, learning_rate=3e-5) is model
    assert base.trainable is True
    for layer in base.layers:
        expected = layer.name.startswith(pretrain.TOP_BLOCK) and "_bn" not in layer.name
        assert layer.trainable == expected, layer.name
    assert float(model.optimizer.learning_rate) == pytest.approx(3e-5)
    before = {w.path: np.array(w) for w in base.weights}
    labels = np.arange(len(images)) % 10
    model.fit(images, labels, epochs=1, batch_size=20, verbose=0)
    changed = {w.path for w in base.weights if not np.array_equal(before[w.path], np.asarray(w))}
    # the top block's kernels move; batch normalisation stays in inference mode, untouched
    assert changed == {"block3_conv1/kernel", "block3_conv2/kernel"}


def test_unfreeze_top_block_with_batch_norm_puts_it_in_training_mode_inside_fit(images):
    # the Keras 3 behaviour unfreeze_top_block works around: training=False in the graph does not hold
    base = models.load_pretrained_base()
    model = transfer.unfreeze_top_block(transfer.build_transfer_model(base, 10), batch_norm=True)
    names = {w.path.split("/")[0] for w in model.trainable_weights}
    assert names == {"block3_conv1", "block3_conv2", "block3_bn1", "block3_bn2", "head"}
    before = {w.path: np.array(w) for w in base.weights}
    model.fit(images, np.arange(len(images)) % 10, epochs=1, batch_size=20, verbose=0)
    changed = {w.path for w in base.weights if not np.array_equal(before[w.path], np.asarray(w))}
    assert {"block3_bn1/moving_mean", "block3_bn2/moving_variance"} <= changed


def test_unfreeze_top_block_with_another_prefix(base):
    model = transfer.unfreeze_top_block(transfer.build_transfer_model(base, 3), prefix="block2")
    names = {w.path.split("/")[0] for w in model.trainable_weights}
    assert names == {"block2_conv1", "block2_conv2", "head"}
    with pytest.raises(ValueError, match="one base"):
        transfer.unfreeze_top_block(model, prefix="nothing")


def test_per_class_keeps_the_first_n_of_each_class_after_a_seeded_shuffle():
    labels = np.repeat(np.arange(4), 10)
    images = np.arange(40)
    x, y = transfer.per_class(images, labels, 3, seed=1)
    assert np.bincount(y).tolist() == [3, 3, 3, 3]
    np.testing.assert_array_equal(labels[x], y)
    order = np.random.default_rng(1).permutation(40)
    for label in range(4):
        expected = [i for i in order if labels[i] == label][:3]
        assert x[y == label].tolist() == expected
    again, _ = transfer.per_class(images, labels, 3, seed=1)
    np.testing.assert_array_equal(again, x)
    other, _ = transfer.per_class(images, labels, 3, seed=2)
    assert not np.array_equal(np.sort(other), np.sort(x))
    # smaller sets are nested in larger ones with the same seed
    bigger, _ = transfer.per_class(images, labels, 5, seed=1)
    assert set(x) <= set(bigger)
    everything, all_labels = transfer.per_class(images, labels, None, seed=1)
    np.testing.assert_array_equal(everything, order)
    np.testing.assert_array_equal(all_labels, labels[order])


@pytest.mark.parametrize("bad", [0, -1, 2.5, 11])
def test_per_class_rejects_a_bad_n(bad):
    with pytest.raises(ValueError):
        transfer.per_class(np.arange(40), np.repeat(np.arange(4), 10), bad, seed=0)


def test_similar_target_is_the_ten_chapter_3_shapes_with_separate_test_images():
    (x_train, y_train), (x_test, y_test) = transfer.similar_target(3, 2, seed=1)
    assert x_train.shape == (30, 32, 32, 3) and x_test.shape == (20, 32, 32, 3)
    assert x_train.dtype == x_test.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [3] * 10 and np.bincount(y_test).tolist() == [2] * 10
    train_seed, _ = np.random.SeedSequence(1).spawn(2)
    expected, labels = data.make_shapes(30, seed=train_seed, classes=data.SHAPE_CLASSES)
    np.testing.assert_array_equal(x_train, expected)
    np.testing.assert_array_equal(y_train, labels)
    assert not any(np.array_equal(x_test[0], image) for image in x_train)
    assert not set(data.SHAPE_CLASSES) & set(pretrain.SOURCE_CLASSES)


def test_different_target_is_the_digits_in_three_equal_channels():
    (x_train, y_train), (x_test, y_test) = transfer.different_target()
    digits = data.load_digits(size=32)
    assert x_train.shape == (1257, 32, 32, 3) and x_test.shape == (360, 32, 32, 3)
    assert x_train.dtype == np.uint8
    np.testing.assert_array_equal(y_train, digits.train[1])
    np.testing.assert_array_equal(y_test, digits.test[1])
    np.testing.assert_array_equal(x_train[..., 0], x_train[..., 2])
    np.testing.assert_allclose(x_test[..., 1] / 255, digits.test[0][..., 0], atol=0.5 / 255 + 1e-6)
    assert x_train.max() == 255 and x_train.min() == 0


def test_scratch_model_has_the_transfer_architecture_with_fresh_trainable_weights():
    scratch = transfer.build_scratch_model(10, dropout=0.3)
    pretrained = transfer.build_transfer_model(models.load_pretrained_base(), 10, dropout=0.3)
    assert scratch.count_params() == pretrained.count_params()
    assert [type(layer).__name__ for layer in scratch.layers] == [
        type(layer).__name__ for layer in pretrained.layers]
    assert len(scratch.trainable_weights) == len(scratch.layers[1].trainable_weights) + 2
    norms = [layer for layer in scratch.layers[1].layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 6 and {layer.momentum for layer in norms} == {0.9}
    assert {layer.momentum for layer in transfer.build_scratch_model(3, batch_norm_momentum=0.99)
            .layers[1].layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.99}
    shipped = models.load_pretrained_base().get_layer("block1_conv1").kernel
    assert not np.allclose(np.asarray(scratch.layers[1].get_layer("block1_conv1").kernel), np.asarray(shipped))


def test_fit_steps_takes_exactly_the_given_number_of_steps():
    images = data.make_shapes(10, seed=0)[0]
    labels = np.arange(10) % 2
    for steps, batch in [(7, 4), (3, 32)]:  # 4 does not divide 10; 32 is larger than the set
        model = transfer.build_scratch_model(2, dropout=0)
        transfer.fit_steps(model, images, labels, steps, batch, seed=0)
        assert int(model.optimizer.iterations.numpy()) == steps


def test_accuracy_is_the_fraction_of_argmax_hits():
    model = transfer.build_scratch_model(3, dropout=0)
    images = data.make_shapes(6, seed=1)[0]
    predicted = model.predict(images, verbose=0).argmax(axis=1)
    assert transfer.accuracy(model, images, predicted) == 1.0
    assert transfer.accuracy(model, images, (predicted + 1) % 3) == 0.0


def test_feature_classifier_separates_separable_features():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    features = rng.normal(size=(60, 5)) + 5 * np.eye(3, 5)[labels]
    assert transfer.feature_classifier(features, labels).score(features, labels) == 1.0


def test_source_accuracy_falls_when_the_base_is_scrambled(base):
    scrambled = models.load_pretrained_base()
    kernel = scrambled.get_layer("block3_conv2").kernel
    kernel.assign(np.random.default_rng(0).permutation(np.asarray(kernel).ravel()).reshape(kernel.shape))
    assert transfer.source_accuracy(base, 200) >= 0.85
    assert transfer.source_accuracy(scrambled, 200) < 0.5


def test_gradient_norm_is_smaller_once_the_head_fits(images):
    labels = np.arange(len(images)) % 10
    model = transfer.build_transfer_model(models.load_pretrained_base(), 10, dropout=0)
    random_head = transfer.top_block_gradient_norm(model, images, labels)
    model.optimizer.learning_rate.assign(1e-2)
    model.fit(images, labels, epochs=60, batch_size=40, verbose=0)  # the head learns these 40
    assert transfer.top_block_gradient_norm(model, images, labels) < random_head / 3


def test_the_shipped_record_has_every_run_and_its_provenance():
    record = transfer.load_curves()
    assert record["command"] == "python -m cnnbook.transfer --record"
    assert record["settings"] == transfer.RECORD_SETTINGS
    for name in ("similar", "different"):
        rows = record["curves"][name]
        assert [row["per_class"] for row in rows if not row["all"]] == [5, 20, 100]
        for row in rows:
            for key in ("scratch", "features", "head", "head_control", "fine_tuned"):
                assert 0 <= row[key] <= 1
            # the head's training loss after 100, 200 (head_steps), 300 and 400 steps
            assert len(row["head_train_loss"]) == 4
            if name == "different":
                assert 0 <= row["head_standardized"] <= 1
                assert len(row["head_standardized_train_loss"]) == 4
    assert len(record["fine_tuning"]["runs"]) == 5
    assert "random head, top block at fine_tune_rate" in record["fine_tuning"]["runs"]
    assert set(record["versions"]) >= {"python", "numpy", "tensorflow", "keras"}
    assert record["seconds"]["cpu"] <= 20 * 60


def test_standardize_adds_a_normalization_adapted_on_the_features_and_no_trainable_weight():
    features = np.random.default_rng(0).normal(3.0, 0.1, size=(50, 64)).astype(np.float32)
    model = transfer.build_transfer_model(models.load_pretrained_base(), 10, standardize=features)
    layer = model.get_layer("head_standardize")
    np.testing.assert_allclose(np.asarray(layer(features)).mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(np.asarray(layer(features)).std(axis=0), 1, atol=1e-2)
    assert [w.path for w in model.trainable_weights] == ["head/kernel", "head/bias"]


def test_unfreeze_default_rate_is_ten_times_below_the_heads():
    model = transfer.unfreeze_top_block(transfer.build_transfer_model(models.load_pretrained_base(), 10))
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)


def test_record_refuses_to_overwrite_the_shipped_record_in_quick_mode():
    with pytest.raises(SystemExit):
        transfer.main(["--record", "--quick"])


@pytest.mark.slow
def test_quick_record_runs_and_writes_a_loadable_record(tmp_path):
    out = tmp_path / "curves.json"
    transfer.main(["--record", "--quick", "--out", str(out)])
    record = json.loads(out.read_text())
    assert record["command"] == f"python -m cnnbook.transfer --record --quick --out {out}"
    assert [row["per_class"] for row in record["curves"]["similar"]] == [5]
    assert record["settings"]["scratch_steps"] == 4


def test_step_size_recorder_matches_sgd_steps_computed_with_tensorflow():
    import tensorflow as tf

    images, labels = data.make_shapes(16, seed=3)
    model = transfer.build_scratch_model(10, dropout=0)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    kernel = model.get_layer("head").kernel
    with tf.GradientTape() as tape:  # the gradient of the first batch, before any step
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(
            labels, model(images.astype(np.float32), training=True)))
    gradient = np.asarray(tape.gradient(loss, kernel))
    recorder = transfer.step_size_recorder([kernel])
    transfer.fit_steps(model, images, labels, 1, 16, seed=0, callbacks=[recorder])
    # SGD's step is the rate times the gradient: the same batch, the same mean absolute change
    assert recorder.steps[0] == pytest.approx(0.01 * np.abs(gradient).mean(), rel=1e-3)


def test_step_size_recorder_first_adam_step_is_the_rate_and_displacement_is_at_most_the_path():
    images, labels = data.make_shapes(24, seed=4)
    model = transfer.build_scratch_model(10, dropout=0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    recorder = transfer.step_size_recorder([model.get_layer("head").kernel, model.get_layer("head").bias])
    transfer.fit_steps(model, images, labels, 12, 8, seed=0, callbacks=[recorder])
    assert len(recorder.steps) == 12
    assert recorder.steps[0] == pytest.approx(1e-3, rel=1e-3)
    assert 0 < recorder.displacement() <= sum(recorder.steps) + 1e-9
    assert recorder.displacement() == pytest.approx(np.abs(recorder.previous - recorder.start).mean())


def test_head_from_classifier_gives_the_classifiers_probabilities(base, images):
    labels = np.arange(len(images)) % 10
    features = transfer.bottleneck_features(base, images)
    classifier = transfer.feature_classifier(features, labels)
    model = transfer.head_from_classifier(transfer.build_transfer_model(base, 10), classifier)
    np.testing.assert_allclose(model.predict(images, verbose=0), classifier.predict_proba(features),
                               atol=1e-5)
    assert [w.path for w in model.trainable_weights] == ["head/kernel", "head/bias"]


def test_head_from_classifier_rejects_a_standardizing_model_and_a_wrong_shape(base, images):
    labels = np.arange(len(images)) % 10
    features = transfer.bottleneck_features(base, images)
    classifier = transfer.feature_classifier(features, labels)
    with pytest.raises(ValueError, match="standardise"):
        transfer.head_from_classifier(transfer.build_transfer_model(base, 10, standardize=features), classifier)
    with pytest.raises(ValueError, match="classes"):
        transfer.head_from_classifier(transfer.build_transfer_model(base, 7), classifier)


def test_photo_patches_are_seeded_windows_of_the_photographs(monkeypatch):
    first = transfer.photo_patches(5, 32, np.random.default_rng(1))
    again = transfer.photo_patches(5, 32, np.random.default_rng(1))
    other = transfer.photo_patches(5, 32, np.random.default_rng(2))
    assert first.shape == (5, 32, 32, 3) and first.dtype == np.float32
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert 0 <= first.min() and first.max() <= 1
    assert all(min(photo.shape[:2]) >= transfer.MIN_PHOTO_SIDE for photo in transfer._photographs())
    # on a "photograph" whose pixels say where they are, every patch is a window, turned
    rows, cols = np.meshgrid(np.arange(70), np.arange(90), indexing="ij")
    photo = np.stack([rows / 100, cols / 100, np.zeros_like(rows, float)], axis=-1).astype(np.float32)
    monkeypatch.setattr(transfer, "_photographs", lambda: (photo,))
    patches = transfer.photo_patches(20, 32, np.random.default_rng(0))
    turns_seen = set()
    for patch in patches:
        upright = [np.rot90(patch, -turns) for turns in range(4)]
        turns = [k for k, p in enumerate(upright) if p[1, 0, 0] > p[0, 0, 0] and p[0, 1, 1] > p[0, 0, 1]]
        assert len(turns) == 1
        window = upright[turns[0]]
        row, col = (np.rint(window[0, 0, :2] * 100)).astype(int)
        np.testing.assert_array_equal(window, photo[row:row + 32, col:col + 32])
        turns_seen.add(turns[0])
    assert len(turns_seen) > 1
    with pytest.raises(ValueError, match="size"):
        transfer.photo_patches(1, transfer.MIN_PHOTO_SIDE + 1, np.random.default_rng(0))


def test_textured_shapes_have_the_outlines_of_make_shapes_and_a_light_dark_contrast():
    images, labels = transfer.textured_shapes(40, seed=3)
    shape_seed, _ = np.random.SeedSequence(3).spawn(2)
    _, expected_labels, _, masks = data.make_shapes(40, seed=shape_seed, return_boxes=True)
    np.testing.assert_array_equal(labels, expected_labels)
    assert images.shape == (40, 32, 32, 3) and images.dtype == np.uint8
    for image, mask in zip(images.astype(float) / 255, masks):
        inside, outside = image[mask], image[~mask]
        light_object = inside.min() >= 0.45 - 1e-2 and outside.max() <= 0.55 + 1e-2
        dark_object = inside.max() <= 0.55 + 1e-2 and outside.min() >= 0.45 - 1e-2
        assert light_object or dark_object
    again, _ = transfer.textured_shapes(40, seed=3)
    np.testing.assert_array_equal(images, again)


def test_middle_target_is_balanced_with_separate_test_images():
    (x_train, y_train), (x_test, y_test) = transfer.middle_target(3, 2, seed=1)
    assert x_train.shape == (30, 32, 32, 3) and x_test.shape == (20, 32, 32, 3)
    assert np.bincount(y_train).tolist() == [3] * 10 and np.bincount(y_test).tolist() == [2] * 10
    train_seed, _ = np.random.SeedSequence(1).spawn(2)
    np.testing.assert_array_equal(x_train, transfer.textured_shapes(30, train_seed)[0])
    assert not any(np.array_equal(x_test[0], image) for image in x_train)


def test_lp_ft_run_starts_every_arm_from_the_fitted_regression_and_trains_only_its_part():
    train, test = transfer.similar_target(6, 3, seed=2)
    settings = dict(transfer.LP_FT_SETTINGS, lp_ft_steps=3)
    out = transfer._lp_ft_run(train, test, settings, 0, settings["augmentation"], scratch=True)
    # before any step the model with the regression as its head is the regression
    assert out["start"] == pytest.approx(out["features"], abs=1 / len(test[1]) + 1e-9)
    for arm in ("control", "top_block"):
        assert 0 <= out[arm] <= 1 and out[f"{arm}_train_loss_start"] > 0
    assert out["control_train_loss_start"] == pytest.approx(out["top_block_train_loss_start"], rel=1e-5)
    assert 0 <= out["scratch"] <= 1


def test_lp_ft_record_refuses_to_overwrite_the_shipped_record_in_quick_mode():
    with pytest.raises(SystemExit):
        transfer.main(["--record", "--lp-ft", "--quick"])


@pytest.mark.slow
def test_quick_lp_ft_record_runs_with_two_jobs_as_with_one(tmp_path):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    transfer.main(["--record", "--lp-ft", "--quick", "--out", str(one)])
    transfer.main(["--record", "--lp-ft", "--quick", "--jobs", "2", "--out", str(two)])
    first, second = json.loads(one.read_text()), json.loads(two.read_text())
    assert first["command"] == f"python -m cnnbook.transfer --record --lp-ft --quick --out {one}"
    assert [(row["target"], row["per_class"], row["seed"]) for row in first["rows"]] == [
        ("middle", 5, 0), ("different", 5, 0)]
    assert first["settings"]["lp_ft_steps"] == 2
    for a, b in zip(first["rows"], second["rows"]):  # every row seeds itself: the same numbers
        assert {k: v for k, v in a.items() if k != "cpu_seconds"} == {
            k: v for k, v in b.items() if k != "cpu_seconds"}
    assert "scratch" in first["rows"][0] and "scratch" not in first["rows"][1]


@pytest.mark.slow
def test_lp_ft_record_times_only_the_rows_it_ran_and_none_when_all_came_from_the_cache(tmp_path):
    cache, ran_path, reused_path = tmp_path / "rows.jsonl", tmp_path / "ran.json", tmp_path / "reused.json"
    transfer.main(["--record", "--lp-ft", "--quick", "--out", str(ran_path), "--cache", str(cache)])
    transfer.main(["--record", "--lp-ft", "--quick", "--out", str(reused_path), "--cache", str(cache)])
    ran, reused = json.loads(ran_path.read_text()), json.loads(reused_path.read_text())
    assert ran["rows_from_cache"] == 0 and ran["seconds"]["rows_run"] == len(ran["rows"]) == 2
    assert ran["seconds"]["wall"] > 0 and ran["seconds"]["cpu"] > 0
    assert reused["rows_from_cache"] == 2 and reused["seconds"]["rows_run"] == 0
    assert reused["seconds"]["wall"] is None and reused["seconds"]["cpu"] is None
    assert reused["rows"] == ran["rows"] and reused["seconds"]["cpu_rows"] == ran["seconds"]["cpu_rows"]


def test_the_shipped_lp_ft_record_has_every_row_and_its_provenance():
    record = transfer.load_lp_ft()
    settings = record["settings"]
    assert settings == transfer.LP_FT_SETTINGS
    assert record["command"].startswith("python -m cnnbook.transfer --record --lp-ft")
    assert record["seconds"]["cpu_rows"] == pytest.approx(sum(row["cpu_seconds"] for row in record["rows"]), abs=0.2)
    assert record["seconds"]["rows_run"] == len(record["rows"]) - record["rows_from_cache"]
    keys = [(row["target"], None if row["all"] else row["per_class"], row["seed"]) for row in record["rows"]]
    assert keys == [(name, n, seed) for name in settings["targets"] for n in settings["sizes"]
                    for seed in settings["seeds"]]
    for row in record["rows"]:
        for key in ("features", "start", "control", "top_block"):
            assert 0 <= row[key] <= 1
        assert ("scratch" in row) == (row["target"] in settings["scratch_targets"])
        # the model with the regression as its head starts where the regression is
        assert abs(row["start"] - row["features"]) <= 0.01
    assert set(record["versions"]) >= {"python", "numpy", "tensorflow", "keras"}
