"""Tests of cnnbook.deep_nets: chapter 4's deep stacks, small networks and record."""

import json

import numpy as np
import pytest

from cnnbook import deep_nets, models

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
layers = keras.layers


@pytest.fixture(scope="module")
def batch():
    (x, y), _, _ = deep_nets.shapes_data(64, 1, 1)
    return x, y


def test_shapes_data_is_the_chapters_sixteen_pixel_upright_shapes():
    (x_train, y_train), (x_val, _), (x_test, _) = deep_nets.shapes_data(30, 5, 10)
    assert x_train.shape == (30, 16, 16, 3) and x_val.shape == (5, 16, 16, 3) and x_test.shape == (10, 16, 16, 3)
    assert x_train.dtype == np.float32 and 0 <= x_train.min() and x_train.max() <= 1
    again, _, _ = deep_nets.shapes_data(30, 5, 10)
    np.testing.assert_array_equal(again[0], x_train)


def test_plain_and_residual_stacks_have_the_same_layers_and_parameters():
    plain, residual = deep_nets.deep_stack(False), deep_nets.deep_stack(True)
    assert plain.count_params() == residual.count_params()
    assert models.weight_depth(plain) == models.weight_depth(residual) == 1 + 16 + 1
    assert sum(type(layer).__name__ == "Add" for layer in residual.layers) == 16
    assert not any(type(layer).__name__ == "Add" for layer in plain.layers)


def test_residual_stack_adds_the_input_of_each_layer_to_its_branch():
    stack = deep_nets.deep_stack(True, depth=2)
    probe = deep_nets.layer_outputs(stack)
    x = np.random.default_rng(0).random((2, 16, 16, 3)).astype("float32")
    stem = keras.Model(stack.input, stack.get_layer("stem").output)(x)
    branch = keras.Model(stack.input, stack.get_layer("conv1").output)(x)
    np.testing.assert_allclose(np.asarray(probe(x)[1]), np.asarray(stem) + np.asarray(branch), atol=1e-5)


@pytest.mark.parametrize("options, message", [
    ({"residual": True, "branch_norm": "layer"}, "branch_norm must be one of"),
    ({"residual": False, "branch_norm": "batch"}, "use it with residual=True"),
])
def test_deep_stack_rejects_bad_branch_norms(options, message):
    with pytest.raises(ValueError, match=message):
        deep_nets.deep_stack(**options)


def test_he_initialisation_keeps_the_gradient_that_glorot_loses(batch):
    """Glorot's variance halves the gradient's per ReLU layer; He's 2/fan-in does not."""
    ratios = {}
    for initializer in ("glorot_uniform", "he_normal"):
        keras.utils.set_random_seed(1)
        gradients, _ = deep_nets.gradient_norms(deep_nets.deep_stack(False, initializer), *batch)
        ratios[initializer] = gradients[0] / gradients[-1]
    assert ratios["glorot_uniform"] < 0.1 < ratios["he_normal"]


def test_gradient_norms_match_an_explicit_tape(batch):
    keras.utils.set_random_seed(2)
    stack = deep_nets.deep_stack(True, depth=3)
    gradients, rms = deep_nets.gradient_norms(stack, *batch)
    probe = deep_nets.layer_outputs(stack)
    with tf.GradientTape() as tape:
        logits, *outputs = probe(batch[0], training=True)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(batch[1], logits))
    expected = [float(tf.norm(g)) for g in tape.gradient(loss, outputs)]
    np.testing.assert_allclose(gradients, expected, rtol=1e-4)
    np.testing.assert_allclose(rms, [float(tf.sqrt(tf.reduce_mean(o ** 2))) for o in outputs], rtol=1e-5)


def test_branches_that_start_at_zero_make_the_stack_the_identity(batch):
    keras.utils.set_random_seed(0)
    _, rms = deep_nets.gradient_norms(deep_nets.deep_stack(True, branch_norm="batch_zero"), *batch)
    np.testing.assert_allclose(rms, rms[0], rtol=1e-6)


def test_unnormalised_residual_stack_grows_and_batch_norm_tames_it(batch):
    growth = {}
    for norm in (None, "batch"):
        keras.utils.set_random_seed(0)
        _, rms = deep_nets.gradient_norms(deep_nets.deep_stack(True, branch_norm=norm), *batch)
        growth[norm] = rms[-1] / rms[0]
    assert growth[None] > 10 > growth["batch"]


@pytest.mark.parametrize("blocks", [1, 2])
def test_cifar_style_net_is_six_n_plus_two_layers_deep(blocks):
    for residual in (False, True):
        net = deep_nets.cifar_style_net(blocks, residual)
        assert models.weight_depth(net) == 6 * blocks + 2
        weight_layers = sum(type(layer).__name__ in models.WEIGHT_LAYERS for layer in net.layers)
        assert weight_layers == 6 * blocks + 2 + (2 if residual else 0)  # two projections


def test_cifar_style_net_rejects_no_blocks():
    with pytest.raises(ValueError, match="blocks_per_stage must be a positive int"):
        deep_nets.cifar_style_net(0, True)


def test_plain_block_is_the_residual_blocks_main_path_without_the_shortcut():
    inputs = keras.Input((8, 8, 16))
    plain = keras.Model(inputs, deep_nets.plain_block(inputs, 16))
    residual = keras.Model(inputs, models.residual_block(inputs, 16))
    assert plain.count_params() == residual.count_params()
    assert not any(type(layer).__name__ == "Add" for layer in plain.layers)


def test_small_networks_have_the_chapters_sizes():
    assert deep_nets.plain_convnet().count_params() == 57_066
    assert deep_nets.small_inception().count_params() == 43_394
    assert deep_nets.small_resnet().count_params() == 78_442
    assert models.multiply_adds(deep_nets.small_inception()) < models.multiply_adds(deep_nets.plain_convnet())


def test_small_inception_options_change_only_what_they_name():
    base = deep_nets.small_inception()
    wide = deep_nets.small_inception(width=1.5)
    assert wide.get_layer("inception1_1x1").filters == 24 and wide.count_params() > base.count_params()
    normed = deep_nets.small_inception(batch_norm=True)
    assert normed.get_layer("inception1_3x3_bn") is not None
    assert not normed.get_layer("inception1_3x3").use_bias
    assert deep_nets.small_inception(stem_momentum=0.9).get_layer("stem_bn").momentum == 0.9
    assert base.get_layer("stem_bn").momentum == 0.99
    with pytest.raises(ValueError, match="width must be positive"):
        deep_nets.small_inception(width=0)


def test_accuracy_counts_the_share_classified_right():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(3, use_bias=False)])
    model.set_weights([np.eye(3, dtype="float32")])
    x = np.eye(3, dtype="float32")[[0, 1, 2, 2]]
    assert deep_nets.accuracy(model, x, np.array([0, 1, 2, 0]), batch_size=3) == 0.75
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        deep_nets.accuracy(model, x, np.zeros(4), batch_size=0)


def test_recalibration_sets_the_moving_statistics_to_tensorflows_moments():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(4, 3), layers.BatchNormalization(),
                              layers.ReLU(), layers.Conv2D(3, 1), layers.BatchNormalization(momentum=0.9)])
    x = np.random.default_rng(0).normal(1.0, 2.0, size=(50, 6, 6, 2)).astype("float32")
    deep_nets.recalibrate_batch_norm(model, x)
    first_input = model.layers[0](x)
    mean, variance = tf.nn.moments(first_input, axes=[0, 1, 2])
    np.testing.assert_allclose(np.asarray(model.layers[1].moving_mean), mean, atol=1e-4)
    np.testing.assert_allclose(np.asarray(model.layers[1].moving_variance), variance, rtol=1e-4)
    # after it, inference on the same images computes what training mode computes
    np.testing.assert_allclose(np.asarray(model(x, training=False)), np.asarray(model(x, training=True)),
                               atol=1e-4)
    assert [layer.momentum for layer in model.layers if hasattr(layer, "momentum")] == [0.99, 0.9]


def test_statistics_replacement_matches_tensorflows_batch_normalization():
    """Each replaced statistic scores what tf.nn.batch_normalization with it scores; nothing is left changed."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layers.Dense(3)(layers.BatchNormalization(name="bn")(inputs)))
    rng = np.random.default_rng(0)
    x = rng.normal([1.0, -2.0, 0.5, 3.0], [1.0, 2.0, 0.5, 3.0], size=(300, 4)).astype("float32")
    test_x = rng.normal([1.0, -2.0, 0.5, 3.0], [1.0, 2.0, 0.5, 3.0], size=(200, 4)).astype("float32")
    norm = model.get_layer("bn")
    norm.moving_mean.assign([0.5, -1.0, 0.0, 2.0])
    norm.moving_variance.assign([2.0, 1.0, 0.1, 20.0])
    old_mean, old_variance = np.asarray(norm.moving_mean), np.asarray(norm.moving_variance)
    dense = model.layers[-1]
    data_mean, data_variance = tf.nn.moments(tf.constant(x), axes=[0])

    def scored(mean, variance, labels):
        normed = tf.nn.batch_normalization(test_x, mean, variance, norm.beta, norm.gamma, norm.epsilon)
        return np.asarray(dense(normed)).argmax(axis=1)

    labels = scored(data_mean, old_variance, None)      # mean-only replacement gets every image right
    result = deep_nets.statistics_replacement(model, x, test_x, labels, "bn")
    assert result["mean_only"] == 1.0
    for name, (mean, variance) in {"variance_only": (old_mean, data_variance),
                                   "both": (data_mean, data_variance)}.items():
        assert result[name] == pytest.approx(np.mean(scored(mean, variance, None) == labels))
    assert result["variance_only"] < 1.0
    ratio = old_variance / np.asarray(data_variance)
    assert result["variance_ratio"]["median"] == pytest.approx(np.median(ratio), rel=1e-3)
    assert result["variance_ratio"]["max"] == pytest.approx(ratio.max(), rel=1e-3)
    np.testing.assert_array_equal(np.asarray(norm.moving_mean), old_mean)
    np.testing.assert_array_equal(np.asarray(norm.moving_variance), old_variance)


def test_train_rejects_an_unknown_optimizer(batch):
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        deep_nets.train(deep_nets.deep_stack(True, depth=1), batch, 1, 1e-3, optimizer="rmsprop")


def test_the_shipped_record_has_the_chapters_section_every_seed_and_its_provenance():
    record = deep_nets.load_record()
    assert set(record) >= set(deep_nets.CHAPTER_SECTIONS) and set(record) <= set(deep_nets.SECTIONS)
    for name, section in record.items():
        assert section["command"].startswith("python -m cnnbook.deep_nets --record")
        assert "--quick" not in section["command"]
        assert deep_nets.section_settings(name, section["settings"]) == deep_nets.section_settings(
            name, deep_nets.RECORD_SETTINGS)
        assert set(section["versions"]) >= {"python", "numpy", "tensorflow", "keras"}
    seeds = deep_nets.RECORD_SETTINGS["seeds"]
    inception = record["inception"]
    assert list(inception["networks"]) == deep_nets.RECORD_SETTINGS["networks"]
    assert list(inception["variants"]) == deep_nets.RECORD_SETTINGS["variants"]
    for runs in [*inception["networks"].values(), *inception["variants"].values()]:
        assert [run["seed"] for run in runs] == seeds
        assert all(0 <= run["test_accuracy_recalibrated"] <= 1 for run in runs)
    assert all(len(run["loss"]) == 2 * deep_nets.RECORD_SETTINGS["small_epochs"]
               for run in inception["variants"]["twice the epochs"])
    for runs in [*inception["networks"].values(), *inception["variants"].values()]:
        for run in runs:
            assert set(run["test_accuracy_stem_replaced"]) == {"mean_only", "variance_only", "both"}
            ratio = run["stem_variance_ratio"]
            assert 0 < ratio["min"] <= ratio["median"] <= ratio["max"]
    for run in inception["networks"]["small_inception"]:   # its stem is its one batch normalisation
        assert abs(run["test_accuracy_stem_replaced"]["both"] - run["test_accuracy_recalibrated"]) <= 0.002
    settings = deep_nets.RECORD_SETTINGS
    stacks = record["stacks"]
    assert list(stacks["runs"]) == list(settings["stacks"])
    for optimizer, names in settings["stacks"].items():
        assert list(stacks["runs"][optimizer]) == names
        for runs in stacks["runs"][optimizer].values():
            assert [run["seed"] for run in runs] == settings["stack_seeds"]
            assert all(len(run["loss"]) == settings["stack_epochs"] and run["gradient_ratio"] > 0
                       for run in runs)
    depth = record["depth"]["runs"]
    assert sorted((run["layers"], run["residual"], run["seed"]) for run in depth) == sorted(
        (6 * blocks + 2, residual, seed) for blocks in settings["depth_blocks_per_stage"]
        for residual in settings["depth_residual"] for seed in settings["depth_seeds"])
    assert all(len(run["loss"]) == settings["depth_epochs"] and 0 <= run["train_accuracy_inference"] <= 1
               for run in depth)


def test_record_refuses_to_overwrite_the_shipped_record_in_quick_mode():
    with pytest.raises(SystemExit):
        deep_nets.main(["--record", "--quick"])


def test_record_needs_the_record_flag():
    with pytest.raises(SystemExit):
        deep_nets.main(["--quick", "--out", "somewhere.json"])


@pytest.mark.slow
def test_quick_record_runs_every_section_and_keeps_other_sections(tmp_path):
    out = tmp_path / "record.json"
    out.write_text(json.dumps({"other": {"kept": True}}))
    deep_nets.main(["--record", "--quick", "--out", str(out)])
    record = json.loads(out.read_text())
    assert record["other"] == {"kept": True}
    assert record["stacks"]["command"] == f"python -m cnnbook.deep_nets --record --quick --out {out}"
    assert record["stacks"]["runs"]["sgd"]["residual, batch norm from zero"][0]["seed"] == 0
    assert len(record["depth"]["runs"]) == 1 and record["depth"]["runs"][0]["layers"] == 8
    assert list(record["inception"]["networks"]) == ["small_inception"]
    assert list(record["inception"]["variants"]) == ["stem momentum 0.9"]
    assert len(record["inception"]["variants"]["stem momentum 0.9"][0]["loss"]) == 1
    assert set(record["inception"]["variants"]["stem momentum 0.9"][0]["test_accuracy_stem_replaced"]) == {
        "mean_only", "variance_only", "both"}


def test_section_settings_rejects_an_unknown_section():
    with pytest.raises(ValueError, match="section must be one of"):
        deep_nets.section_settings("everything", deep_nets.RECORD_SETTINGS)


def test_resume_refuses_runs_recorded_with_other_threads():
    old = {"settings": deep_nets.RECORD_SETTINGS, "versions": {}, "runs": [],
           "threads": {"TF_NUM_INTRAOP_THREADS": "1"}}
    with pytest.raises(ValueError, match="differ in threads"):
        deep_nets.resumable_runs(old, deep_nets.RECORD_SETTINGS, {"TF_NUM_INTRAOP_THREADS": None}, {})


def test_resume_needs_the_depth_section_alone(tmp_path):
    with pytest.raises(SystemExit):
        deep_nets.main(["--record", "--quick", "--resume", "--out", str(tmp_path / "r.json")])


@pytest.mark.slow
def test_resumed_depth_record_equals_one_run_of_every_seed(tmp_path, monkeypatch):
    """Adding seed 1 to a record of seed 0 keeps seed 0's runs and trains what one run would."""
    quick = ["--record", "--quick", "--only", "depth"]
    monkeypatch.setitem(deep_nets.QUICK_SETTINGS, "depth_seeds", [0, 1])
    both = tmp_path / "both.json"
    deep_nets.main([*quick, "--out", str(both)])
    monkeypatch.setitem(deep_nets.QUICK_SETTINGS, "depth_seeds", [0])
    resumed = tmp_path / "resumed.json"
    deep_nets.main([*quick, "--out", str(resumed)])
    first = json.loads(resumed.read_text())["depth"]
    first["runs"][0]["marker"] = "kept, not trained again"
    resumed.write_text(json.dumps({"depth": first}))
    monkeypatch.setitem(deep_nets.QUICK_SETTINGS, "depth_seeds", [0, 1])
    deep_nets.main([*quick, "--resume", "--out", str(resumed)])
    record, expected = json.loads(resumed.read_text())["depth"], json.loads(both.read_text())["depth"]
    assert [run["seed"] for run in record["runs"]] == [0, 1]
    assert record["runs"][0]["marker"] == "kept, not trained again"
    strip = ("cpu_seconds", "marker")
    assert ([{k: v for k, v in run.items() if k not in strip} for run in record["runs"]]
            == [{k: v for k, v in run.items() if k not in strip} for run in expected["runs"]])
    assert record["settings"]["depth_seeds"] == [0, 1]
    assert [session["settings"]["depth_seeds"] for session in record["earlier_sessions"]] == [[0]]
    assert record["earlier_sessions"][0]["command"].endswith(f"--out {resumed}")
