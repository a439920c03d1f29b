"""Tests of cnnbook.models: parameter counts from formulas, checked against Keras."""

import pytest

from cnnbook import models

keras = pytest.importorskip("keras")
layers = keras.layers


def classic_convnet():
    """The MNIST-shaped convnet of chapter 2."""
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10),
        ]
    )


def test_classic_convnet_counts_layer_by_layer():
    counts = [row.count for row in models.parameter_rows(classic_convnet())]
    assert counts == [320, 0, 18_496, 0, 36_928, 0, 36_928, 650]


def test_classic_convnet_output_shapes_shrink_in_space_and_grow_in_depth():
    shapes = [row.output_shape for row in models.parameter_rows(classic_convnet())]
    assert shapes[:5] == [(26, 26, 32), (13, 13, 32), (11, 11, 64), (5, 5, 64), (3, 3, 64)]


def test_conv_formula_shows_kernel_channels_filters_and_bias():
    assert models.parameter_rows(classic_convnet())[2].formula == "3·3·32·64 + 64"


def test_conv_without_bias_drops_the_bias_term():
    model = keras.Sequential([keras.Input((9, 9, 3)), layers.Conv2D(5, (2, 4), use_bias=False)])
    assert models.layer_formula(model.layers[0]) == ("2·4·3·5", 120)


def test_dense_formula_adds_one_bias_per_output():
    model = keras.Sequential([keras.Input((576,)), layers.Dense(64)])
    assert models.layer_formula(model.layers[0]) == ("(576 + 1)·64", 36_928)


def test_dense_without_bias_is_inputs_times_outputs():
    model = keras.Sequential([keras.Input((7,)), layers.Dense(3, use_bias=False)])
    assert models.layer_formula(model.layers[0]) == ("7·3", 21)


@pytest.mark.parametrize(
    "layer",
    [
        layers.MaxPooling2D(2),
        layers.AveragePooling2D(2),
        layers.GlobalAveragePooling2D(),
        layers.GlobalMaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Activation("relu"),
        layers.ReLU(),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_weightless_layers_count_zero(layer):
    model = keras.Sequential([keras.Input((6, 6, 2)), layer])
    assert models.layer_formula(model.layers[0]) == ("no weights", 0)


def test_functional_model_counts_its_input_layer_as_zero():
    inputs = keras.Input((8, 8, 1))
    outputs = layers.Dense(2)(layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3)(inputs)))
    rows = models.parameter_rows(keras.Model(inputs, outputs))
    assert [(row.kind, row.count) for row in rows] == [
        ("InputLayer", 0),
        ("Conv2D", 40),
        ("GlobalAveragePooling2D", 0),
        ("Dense", 10),
    ]


def test_merge_layers_count_zero():
    inputs = keras.Input((4, 4, 3))
    left, right = layers.Conv2D(3, 1)(inputs), layers.Conv2D(2, 1)(inputs)
    outputs = layers.Add()([layers.Concatenate()([left, right]), layers.Conv2D(5, 1)(inputs)])
    rows = models.parameter_rows(keras.Model(inputs, outputs))
    assert [(row.kind, row.count) for row in rows if row.kind in ("Concatenate", "Add")] == [
        ("Concatenate", 0),
        ("Add", 0),
    ]


def test_unbuilt_model_is_rejected():
    with pytest.raises(ValueError, match="model must be built"):
        models.parameter_rows(keras.Sequential([layers.Dense(3)]))


def test_layer_without_a_known_formula_is_rejected():
    model = keras.Sequential([keras.Input((4, 4, 2)), layers.LayerNormalization()])
    with pytest.raises(ValueError, match="is a LayerNormalization: no formula"):
        models.parameter_rows(model)


def test_batch_norm_formula_counts_scale_shift_and_the_two_moving_statistics():
    model = keras.Sequential([keras.Input((4, 4, 32)), layers.BatchNormalization()])
    assert models.layer_formula(model.layers[0]) == ("2·32 + 2·32", 128)
    layer = model.layers[0]
    assert len(layer.trainable_weights) == 2 and len(layer.non_trainable_weights) == 2


def test_batch_norm_formula_without_scale_counts_three_per_channel():
    model = keras.Sequential([keras.Input((5, 8)), layers.BatchNormalization(scale=False)])
    assert models.layer_formula(model.layers[0]) == ("1·8 + 2·8", 24)
    assert models.parameter_rows(model)[0].count == model.count_params()


def test_grouped_convolution_is_rejected():
    model = keras.Sequential([keras.Input((6, 6, 4)), layers.Conv2D(4, 3, groups=2)])
    with pytest.raises(ValueError, match="grouped convolutions"):
        models.parameter_rows(model)


def test_disagreement_with_keras_is_reported(monkeypatch):
    model = classic_convnet()
    monkeypatch.setattr(model.layers[0], "count_params", lambda: 321)
    with pytest.raises(ValueError, match="the formula gives 320 but Keras counts 321"):
        models.parameter_rows(model)


def test_table_ends_with_the_total_of_count_params():
    table = models.parameter_table(classic_convnet())
    assert table.splitlines()[-1].split() == ["total", "(=", "model.count_params())", "93,322"]
    assert len(table.splitlines()) == 1 + 8 + 1
