"""Tests of cnnbook.models' multiply-add counts and building blocks, checked against Keras."""

import numpy as np
import pytest

from cnnbook import models

keras = pytest.importorskip("keras")
layers = keras.layers


def small_model():
    """A model small enough to count by hand."""
    return keras.Sequential([
        keras.Input((10, 10, 3)),
        layers.Conv2D(4, 3),                  # 8·8 outputs · 3·3·3 · 4 = 6,912
        layers.Conv2D(6, 1, strides=2),       # 4·4 · 1·1·4 · 6 = 384
        layers.Flatten(),
        layers.Dense(5),                      # 96 · 5 = 480
    ])


def test_small_model_matches_a_hand_count():
    assert [models.layer_multiply_adds(layer) for layer in small_model().layers] == [6912, 384, 0, 480]
    assert models.multiply_adds(small_model()) == 6912 + 384 + 480


def test_conv_count_is_weights_times_output_positions_for_every_layer():
    """An independent route: Keras' weight count (biases off) times H_out·W_out."""
    inputs = keras.Input((17, 13, 5))
    x = layers.Conv2D(7, (3, 5), strides=(2, 1), padding="same", use_bias=False)(inputs)
    x = layers.Conv2D(4, 2, strides=3, use_bias=False)(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False)(x)
    model = keras.Model(inputs, x)
    for layer in model.layers[1:]:
        out_h, out_w = layer.output.shape[1:3]
        assert models.layer_multiply_adds(layer) == layer.count_params() * out_h * out_w, layer.name


def test_dense_on_a_feature_map_works_at_every_position():
    model = keras.Sequential([keras.Input((6, 7, 3)), layers.Dense(4)])
    assert models.multiply_adds(model) == 6 * 7 * 3 * 4


def test_nested_models_are_entered():
    inner = small_model()
    outer = keras.Sequential([keras.Input((10, 10, 3)), inner, layers.Dense(2)])
    assert models.multiply_adds(outer) == models.multiply_adds(inner) + 5 * 2


def test_unbuilt_model_is_rejected_by_multiply_adds():
    with pytest.raises(ValueError, match="model must be built"):
        models.multiply_adds(keras.Sequential([layers.Dense(3)]))


def test_grouped_convolution_is_rejected_by_multiply_adds():
    model = keras.Sequential([keras.Input((6, 6, 4)), layers.Conv2D(4, 3, groups=2)])
    with pytest.raises(ValueError, match="grouped convolutions"):
        models.multiply_adds(model)


@pytest.mark.slow
def test_vgg16_costs_its_published_15_5_billion_multiply_adds():
    """Simonyan & Zisserman's VGG16 is quoted at 15.5 G multiply-adds for a 224×224 image."""
    vgg = keras.applications.VGG16(weights=None)
    assert round(models.multiply_adds(vgg) / 1e9, 1) == 15.5


def googlenet_3a():
    inputs = keras.Input((28, 28, 192))
    return keras.Model(inputs, models.inception_module(inputs, 64, 96, 128, 16, 32, 32, name="3a"))


def test_inception_module_stacks_the_four_branches_on_depth():
    assert tuple(googlenet_3a().output.shape) == (None, 28, 28, 64 + 128 + 32 + 32)


def test_inception_module_parameters_match_googlenets_table():
    # (1·1·192 + 1)·64 + (192 + 1)·96 + (3·3·96 + 1)·128 + (192 + 1)·16 + (5·5·16 + 1)·32 + (192 + 1)·32
    expected = 193 * 64 + 193 * 96 + 865 * 128 + 193 * 16 + 401 * 32 + 193 * 32
    assert googlenet_3a().count_params() == expected


def test_inception_module_branches_reduce_before_the_large_kernels():
    model = googlenet_3a()
    by_name = {layer.name: layer for layer in model.layers}
    assert by_name["3a_3x3"].input is by_name["3a_3x3_reduce"].output
    assert by_name["3a_5x5"].input is by_name["3a_5x5_reduce"].output
    assert by_name["3a_pool_proj"].input is by_name["3a_pool"].output
    assert by_name["3a_pool"].get_config()["padding"] == "same"
    assert by_name["3a_pool"].get_config()["strides"] == (1, 1)
    assert [by_name[n].kernel_size for n in ["3a_1x1", "3a_3x3", "3a_5x5", "3a_pool_proj"]] == [
        (1, 1), (3, 3), (5, 5), (1, 1)]


def test_inception_module_concatenates_in_branch_order():
    """The output's channels are the four branches' outputs, side by side, in order."""
    model = googlenet_3a()
    x = np.random.default_rng(0).standard_normal((1, 28, 28, 192)).astype("float32")
    names = ["3a_1x1", "3a_3x3", "3a_5x5", "3a_pool_proj"]
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    branches = np.concatenate([np.asarray(b) for b in probe(x)], axis=-1)
    np.testing.assert_allclose(np.asarray(model(x)), branches, atol=1e-6)


def block_model(input_shape, filters, stride):
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, models.residual_block(inputs, filters, stride, name="res"))


def test_identity_shortcut_keeps_the_shape_and_adds_no_projection():
    model = block_model((8, 8, 16), 16, 1)
    assert tuple(model.output.shape) == (None, 8, 8, 16)
    assert "res_projection" not in [layer.name for layer in model.layers]
    # two 3×3 convolutions without bias, and two batch norms of 4·16 numbers each
    assert model.count_params() == 2 * 3 * 3 * 16 * 16 + 2 * 4 * 16


@pytest.mark.parametrize("shape, filters, stride", [((8, 8, 16), 32, 1), ((8, 8, 16), 16, 2), ((9, 9, 8), 16, 2)])
def test_projection_is_used_exactly_when_the_shape_changes(shape, filters, stride):
    model = block_model(shape, filters, stride)
    projection = model.get_layer("res_projection")
    assert projection.kernel_size == (1, 1) and projection.strides == (stride, stride)
    size = -(-shape[0] // stride)
    assert tuple(model.output.shape) == (None, size, size, filters)


def test_shortcut_is_added_not_concatenated():
    model = block_model((8, 8, 16), 16, 1)
    assert type(model.get_layer("res_add")).__name__ == "Add"
    # with the main path's last batch norm scaled to zero, the block is relu(x)
    model.get_layer("res_bn2").gamma.assign(np.zeros(16, "float32"))
    x = np.random.default_rng(1).standard_normal((2, 8, 8, 16)).astype("float32")
    np.testing.assert_allclose(np.asarray(model(x, training=False)), np.maximum(x, 0), atol=1e-6)


def test_blocks_keras_parameter_rows_agree_with_the_multiply_add_count():
    model = block_model((8, 8, 16), 32, 2)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert models.multiply_adds(model) == sum(
        layer.count_params() * 4 * 4 for layer in convs)


def test_residual_block_without_projection_counts_convolutions_and_batch_norms():
    """Chapter 4's 18,688: 2·(3·3·32·32) bias-free weights and 2·(2·32 + 2·32) batch-norm numbers."""
    model = block_model((8, 8, 32), 32, 1)
    assert model.count_params() == 2 * 3 * 3 * 32 * 32 + 2 * (2 * 32 + 2 * 32) == 18_688
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == 2 * 3 * 3 * 32 * 32 + 2 * 2 * 32
    assert models.parameter_rows(model)[-1].count == 0  # the ReLU after the addition


def test_residual_block_with_projection_counts_its_one_by_one_convolution():
    """Chapter 4's 58,112: two 3×3 convolutions, a 1×1 projection and three batch norms of 64 channels."""
    model = block_model((8, 8, 32), 64, 2)
    expected = 3 * 3 * 32 * 64 + 3 * 3 * 64 * 64 + 1 * 1 * 32 * 64 + 3 * 4 * 64
    assert model.count_params() == expected == 58_112


def test_residual_block_keeps_keras_default_initialisation_unless_told():
    inputs = keras.Input((8, 8, 16))
    default = keras.Model(inputs, models.residual_block(inputs, 32, name="a"))
    he = keras.Model(inputs, models.residual_block(inputs, 32, name="b", kernel_initializer="he_normal"))
    for suffix in ("conv1", "conv2", "projection"):
        assert type(default.get_layer(f"a_{suffix}").kernel_initializer).__name__ == "GlorotUniform"
        assert type(he.get_layer(f"b_{suffix}").kernel_initializer).__name__ == "HeNormal"


def test_inception_module_with_batch_norm_normalises_every_convolution():
    inputs = keras.Input((28, 28, 192))
    model = keras.Model(inputs, models.inception_module(inputs, 64, 96, 128, 16, 32, 32, name="3a",
                                                        batch_norm=True))
    convolutions = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    norms = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    assert len(convolutions) == len(norms) == 6 and not any(layer.use_bias for layer in convolutions)
    assert tuple(model.output.shape) == (None, 28, 28, 256)
    # the weights of GoogLeNet's 3a without biases, plus 4 numbers per channel of every convolution
    assert model.count_params() == 163_328 + 4 * (64 + 96 + 128 + 16 + 32 + 32)


def test_inception_module_default_is_googlenets_without_batch_norm():
    assert not any(type(layer).__name__ == "BatchNormalization" for layer in googlenet_3a().layers)


def test_weight_depth_counts_the_longest_path_not_the_branches():
    assert models.weight_depth(googlenet_3a()) == 2          # a reduction, then a 3×3 or 5×5
    assert models.weight_depth(block_model((8, 8, 16), 32, 2)) == 2   # the projection runs beside


def test_weight_depth_of_a_sequential_model_is_its_number_of_weight_layers():
    model = keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(2, 3), layers.BatchNormalization(),
                              layers.MaxPooling2D(), layers.Flatten(), layers.Dense(4), layers.Dense(2)])
    assert models.weight_depth(model) == 3


def test_weight_depth_enters_a_nested_model():
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(3)])
    outer = keras.Sequential([keras.Input((4,)), inner, layers.Dense(1)])
    assert models.weight_depth(outer) == 3


def test_weight_depth_rejects_an_unbuilt_model():
    with pytest.raises(ValueError, match="model must be built"):
        models.weight_depth(keras.Sequential([layers.Dense(3)]))


def googlenet():
    """GoogLeNet from Szegedy et al. 2015's Table 1, without its local response normalisation."""
    modules = {"3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
               "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
               "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
               "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
               "5b": (384, 192, 384, 48, 128, 128)}
    inputs = keras.Input((224, 224, 3))
    x = layers.Conv2D(64, 7, strides=2, padding="same", activation="relu")(inputs)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    x = layers.Conv2D(64, 1, activation="relu")(x)
    x = layers.Conv2D(192, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    for name, filters in modules.items():
        if name in ("4a", "5a"):
            x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        x = models.inception_module(x, *filters, name=name)
    return keras.Model(inputs, layers.Dense(1000)(layers.GlobalAveragePooling2D()(x)))


def test_googlenet_is_22_layers_deep_as_its_paper_says():
    """"The network is 22 layers deep when counting only layers with parameters" (Szegedy et al. 2015)."""
    assert models.weight_depth(googlenet()) == 22


@pytest.mark.slow
def test_resnet50_is_50_weight_layers_deep_and_54_with_its_projections():
    net = keras.applications.ResNet50(weights=None)
    assert models.weight_depth(net) == 50
    assert sum(type(layer).__name__ in models.WEIGHT_LAYERS for layer in net.layers) == 54
