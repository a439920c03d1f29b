"""Tests of cnnbook.visualize: each helper against a hand computation on a tiny model."""

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from cnnbook import visualize  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def one_by_one_model(conv_weights, dense_weights, dense_bias, size=5, activation=None,
                     softmax=True):
    """Input (size, size, C) -> 1x1 conv (no bias) -> global average -> Dense (+softmax)."""
    channels, filters = conv_weights.shape
    model = keras.Sequential([
        keras.Input((size, size, channels)),
        keras.layers.Conv2D(filters, 1, use_bias=False, activation=activation, name="conv"),
        keras.layers.GlobalAveragePooling2D(name="gap"),
        keras.layers.Dense(dense_weights.shape[1], activation="softmax" if softmax else None,
                           name="out"),
    ])
    model.get_layer("conv").set_weights([conv_weights[None, None]])
    model.get_layer("out").set_weights([dense_weights, dense_bias])
    return model


RNG = np.random.default_rng(0)
CONV = np.array([[1.0, -2.0], [0.5, 1.0], [-1.0, 0.25]], dtype="float32")   # 3 channels -> 2 maps
DENSE = np.array([[2.0, -1.0, 0.5], [1.0, 3.0, -2.0]], dtype="float32")   # 2 maps -> 3 classes
BIAS = np.array([0.1, -0.2, 0.3], dtype="float32")
IMAGE = RNG.uniform(-1, 1, (5, 5, 3)).astype("float32")


# activation_model -----------------------------------------------------------------------

def test_activation_model_returns_each_layers_maps_as_a_list():
    model = one_by_one_model(CONV, DENSE, BIAS)
    outputs = visualize.activation_model(model, ["conv"])(IMAGE[None])
    assert isinstance(outputs, list) and len(outputs) == 1
    np.testing.assert_allclose(outputs[0][0], IMAGE @ CONV, rtol=1e-5, atol=1e-6)
    both = visualize.activation_model(model, ["conv", "gap"])(IMAGE[None])
    np.testing.assert_allclose(both[1][0], (IMAGE @ CONV).mean(axis=(0, 1)), rtol=1e-5, atol=1e-6)


def test_activation_model_names_a_missing_layer():
    model = one_by_one_model(CONV, DENSE, BIAS)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        visualize.activation_model(model, ["nope"])
    with pytest.raises(TypeError, match="layer_names"):
        visualize.activation_model(model, "conv")


# receptive_field ------------------------------------------------------------------------

def vgg_like(pool="max", size=32):
    Pool = keras.layers.MaxPooling2D if pool == "max" else keras.layers.AveragePooling2D
    return keras.Sequential([
        keras.Input((size, size, 1)),
        keras.layers.Conv2D(1, 3, padding="same", name="c1"),
        keras.layers.Conv2D(1, 3, padding="same", name="c2"),
        Pool(2, name="p1"),
        keras.layers.Conv2D(1, 3, padding="same", name="c3"),
        keras.layers.Conv2D(1, 3, padding="same", name="c4"),
        Pool(2, name="p2"),
    ])


def test_receptive_field_of_a_vgg_like_stack_by_hand():
    model = vgg_like()
    # size grows by (k - 1) * jump: 3, 5, 6, 5 + ... ; jump doubles at each pool;
    # "same" 3x3 pads 1 on the left, so the centre stays; a 2x2 pool moves it by jump / 2.
    expected = {"c1": (3, 1, 0.0), "c2": (5, 1, 0.0), "p1": (6, 2, 0.5),
                "c3": (10, 2, 0.5), "c4": (14, 2, 0.5), "p2": (16, 4, 1.5)}
    for name, field in expected.items():
        assert visualize.receptive_field(model, name) == field, name


def test_receptive_field_valid_stride_dilation_and_uneven_same_padding():
    model = keras.Sequential([
        keras.Input((17, 17, 1)),
        keras.layers.Conv2D(1, 5, strides=2, name="a"),                     # valid
        keras.layers.Conv2D(1, 3, dilation_rate=2, padding="same", name="b"),
        keras.layers.Conv2D(1, 2, padding="same", name="c"),               # pads 0 left, 1 right
        keras.layers.BatchNormalization(name="bn"),
    ])
    # a: size 5, start 2, jump 2 -> b: effective k 5, pad 2: size 5 + 4*2 = 13, start 2
    # c: k 2, left pad 0: size 13 + 2 = 15, start 2 + 0.5*2 = 3; bn keeps it
    assert visualize.receptive_field(model, "a") == (5, 2, 2.0)
    assert visualize.receptive_field(model, "b") == (13, 2, 2.0)
    assert visualize.receptive_field(model, "c") == (15, 2, 3.0)
    assert visualize.receptive_field(model, "bn") == (15, 2, 3.0)


def test_receptive_field_of_rectangular_kernels_is_per_axis():
    model = keras.Sequential([keras.Input((9, 9, 1)), keras.layers.Conv2D(1, (3, 1), name="a")])
    assert visualize.receptive_field(model, "a") == ((3, 1), (1, 1), (1.0, 0.0))


def test_receptive_field_refuses_dense_and_global_pooling():
    model = one_by_one_model(CONV, DENSE, BIAS)
    with pytest.raises(ValueError, match="GlobalAveragePooling2D.*no receptive field"):
        visualize.receptive_field(model, "gap")
    with pytest.raises(ValueError, match="no receptive field"):
        visualize.receptive_field(model, "out")


@pytest.mark.parametrize("layer_name", ["c2", "p1", "c4", "p2"])
def test_receptive_field_matches_the_gradient_of_one_unit(layer_name):
    # All-ones kernels, no activation, average pooling: a unit's gradient with
    # respect to the input is positive exactly on the pixels it sees.
    model = vgg_like(pool="average")
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([np.ones_like(w) for w in layer.get_weights()])
    field = visualize.receptive_field(model, layer_name)
    extractor = visualize.activation_model(model, [layer_name])
    row = col = 3
    image = tf.Variable(np.zeros((1, 32, 32, 1), "float32"))
    with tf.GradientTape() as tape:
        unit = extractor(image)[0][0, row, col, 0]
    seen = np.argwhere(tape.gradient(unit, image).numpy()[0, ..., 0] != 0)
    low = field.start + field.jump * row - (field.size - 1) / 2
    assert seen.min(axis=0).tolist() == [low, low]
    assert seen.max(axis=0).tolist() == [low + field.size - 1] * 2


# last_conv_layer ------------------------------------------------------------------------

def test_last_conv_layer_finds_it_and_refuses_models_without_one():
    assert visualize.last_conv_layer(vgg_like()) == "c4"
    dense_only = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                                   keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no convolutional layer"):
        visualize.last_conv_layer(dense_only)
    with pytest.raises(ValueError, match="no convolutional layer"):
        visualize.grad_cam(dense_only, np.zeros((4, 4, 1)), 0)


# grad_cam -------------------------------------------------------------------------------

def hand_grad_cam(image, class_index):
    # score_c = sum_k DENSE[k, c] * mean_ij(A_k) + b_c, so dscore/dA_k(i, j) = DENSE[k, c] / HW
    # at every position: alpha_k = DENSE[k, c] / HW.
    maps = image @ CONV
    alpha = DENSE[:, class_index] / (image.shape[0] * image.shape[1])
    cam = np.maximum(maps @ alpha, 0)
    return cam / cam.max() if cam.max() > 0 else cam


@pytest.mark.parametrize("class_index", [0, 1, 2])
def test_grad_cam_matches_the_hand_computation(class_index):
    model = one_by_one_model(CONV, DENSE, BIAS)
    heatmap = visualize.grad_cam(model, IMAGE, class_index)
    assert heatmap.shape == (5, 5) and heatmap.dtype == np.float32
    np.testing.assert_allclose(heatmap, hand_grad_cam(IMAGE, class_index), atol=1e-5)
    assert heatmap.min() >= 0 and heatmap.max() == pytest.approx(1.0)


@pytest.mark.parametrize("class_index", [0, 2])
def test_grad_cam_cells_are_the_unnormalised_hand_computation(class_index):
    model = one_by_one_model(CONV, DENSE, BIAS)
    cells = visualize.grad_cam_cells(model, np.stack([IMAGE, 2 * IMAGE]), [class_index] * 2)
    alpha = DENSE[:, class_index] / 25
    for image, found in zip([IMAGE, 2 * IMAGE], cells):
        np.testing.assert_allclose(found, np.maximum((image @ CONV) @ alpha, 0), atol=1e-6)


@pytest.mark.parametrize("class_index", [0, 2])
def test_grad_cam_cells_are_the_unnormalised_hand_computation(class_index):
    model = one_by_one_model(CONV, DENSE, BIAS)
    cells = visualize.grad_cam_cells(model, np.stack([IMAGE, 2 * IMAGE]), [class_index] * 2)
    alpha = DENSE[:, class_index] / 25
    for image, found in zip([IMAGE, 2 * IMAGE], cells):
        np.testing.assert_allclose(found, np.maximum((image @ CONV) @ alpha, 0), atol=1e-6)


def test_grad_cam_uses_the_score_before_the_softmax():
    # Without the softmax the hand formula is the same: the layers' scores agree.
    with_softmax = one_by_one_model(CONV, DENSE, BIAS)
    logits = one_by_one_model(CONV, DENSE, BIAS, softmax=False)
    np.testing.assert_allclose(visualize.grad_cam(with_softmax, IMAGE, 1),
                               visualize.grad_cam(logits, IMAGE, 1), atol=1e-6)


def test_grad_cam_all_zero_map_stays_zero():
    model = one_by_one_model(CONV, DENSE, BIAS)
    assert not visualize.grad_cam(model, np.zeros((5, 5, 3)), 0).any()


def direct_grad_cam(model, image, class_index, layer_name):
    # tf.image.resize places map cell i at (i + 0.5) * H / h - 0.5: the units' receptive-field
    # centres in the models compared with it below (odd "same" kernels, 2x2 poolings), so it
    # cross-checks grad_cam's placement with TensorFlow there.
    grad_model = keras.Model(model.inputs[0], [model.get_layer(layer_name).output,
                                            model.layers[-1].input])
    kernel, bias = model.layers[-1].get_weights()
    with tf.GradientTape() as tape:
        maps, features = grad_model(image[None])
        score = (tf.matmul(features, kernel) + bias)[0, class_index]
    gradients = tape.gradient(score, maps)
    weights = tf.reduce_mean(gradients, axis=(1, 2))[0]
    cam = tf.nn.relu(tf.einsum("hwk,k->hw", maps[0], weights))
    cam = tf.image.resize(cam[..., None], image.shape[:2])[..., 0].numpy()
    return cam / cam.max() if cam.max() > 0 else cam


def test_grad_cam_matches_a_direct_gradient_tape_on_a_deeper_model():
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((16, 16, 3)),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1"),
        keras.layers.MaxPooling2D(2, name="p1"),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c2"),
        keras.layers.Flatten(),
        keras.layers.Dense(4, activation="softmax", name="out"),
    ])
    image = np.random.default_rng(2).uniform(0, 1, (16, 16, 3)).astype("float32")
    nonzero = 0
    for class_index in range(4):
        for layer_name in ["c1", "c2"]:
            expected = direct_grad_cam(model, image, class_index, layer_name)
            heatmap = visualize.grad_cam(model, image, class_index, layer_name)
            np.testing.assert_allclose(heatmap, expected, atol=1e-5)
            nonzero += bool(expected.max() > 0)
        np.testing.assert_array_equal(visualize.grad_cam(model, image, class_index),
                                      visualize.grad_cam(model, image, class_index, "c2"))
    assert nonzero >= 4   # the comparison is not only of all-zero maps


def chapter3_like(size=32):
    """Chapter 3's geometry: 2x2 "same" convolutions (TensorFlow pads bottom/right) and 2x2 poolings."""
    inputs = keras.Input((size, size, 1))
    x = inputs
    for block in (1, 2, 3):
        x = keras.layers.Conv2D(1, 2, padding="same", use_bias=False, kernel_initializer="ones",
                                name=f"conv{block}")(x)
        if block < 3:
            x = keras.layers.AveragePooling2D(2, name=f"pool{block}")(x)
    scores = keras.layers.Dense(2, kernel_initializer="ones", name="out")(
        keras.layers.GlobalAveragePooling2D(name="gap")(x))
    return keras.Model(inputs, scores)


def seen_by(model, layer_name, row, col, size=32):
    """The input pixels one unit sees: where its gradient with respect to the image is non-zero."""
    extractor = visualize.activation_model(model, [layer_name])
    image = tf.Variable(np.zeros((1, size, size, 1), "float32"))
    with tf.GradientTape() as tape:
        unit = extractor(image)[0][0, row, col, 0]
    return tape.gradient(unit, image).numpy()[0, ..., 0] != 0


def test_place_on_image_matches_tensorflow_resize_where_the_centres_agree():
    # tf.image.resize (bilinear, half-pixel centres) puts cell i at (i + 0.5) * jump - 0.5.
    maps = np.random.default_rng(6).uniform(0, 1, (3, 4, 5)).astype("float32")
    for jump in (1, 2, 4):
        expected = tf.image.resize(maps[..., None], (4 * jump, 5 * jump), method="bilinear")[..., 0]
        placed = visualize.place_on_image(maps, (4 * jump, 5 * jump), jump, (jump - 1) / 2)
        np.testing.assert_allclose(placed, expected.numpy(), atol=1e-6)


def test_place_on_image_puts_each_cell_at_its_units_field_centre():
    # With one-sided padding the field centre is not where tf.image.resize puts the cell.
    model = chapter3_like()
    field = visualize.receptive_field(model, "conv3")
    assert field == (11, 4, 5.0)
    for row, col in [(1, 2), (3, 5), (5, 4)]:      # units whose whole field is in the image
        rows, cols = np.nonzero(seen_by(model, "conv3", row, col))
        assert rows.max() - rows.min() + 1 == cols.max() - cols.min() + 1 == field.size
        centre = ((rows.min() + rows.max()) / 2, (cols.min() + cols.max()) / 2)
        one_hot = np.zeros((8, 8))
        one_hot[row, col] = 1.0
        placed = visualize.place_on_image(one_hot, (32, 32), field.jump, field.start)
        assert np.unravel_index(placed.argmax(), placed.shape) == centre
        assert placed[int(centre[0]), int(centre[1])] == 1.0


def test_grad_cam_lights_up_the_pixels_a_known_unit_sees():
    # All-ones kernels and average pooling: unit (3, 5) of conv3 sees rows 12-22, columns 20-30
    # (its input gradient), and an image that is bright exactly there excites it most. The
    # heatmap's peak must be at the centre of that field, (17, 25).
    model = chapter3_like()
    seen = seen_by(model, "conv3", 3, 5)
    rows, cols = np.nonzero(seen)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (12, 22, 20, 30)
    image = seen[..., None].astype("float32")
    maps = visualize.activation_model(model, ["conv3"])(image[None])[0][0, ..., 0].numpy()
    assert np.unravel_index(maps.argmax(), maps.shape) == (3, 5)
    heatmap = visualize.grad_cam(model, image, 0)
    assert np.unravel_index(heatmap.argmax(), heatmap.shape) == (17, 25)
    assert heatmap[17, 25] == pytest.approx(1.0)
    assert heatmap[seen].mean() > 3 * heatmap[~seen].mean()


def test_grad_cam_refuses_maps_without_a_receptive_field():
    # Maps reshaped from a dense layer: no cell belongs to a window of the image.
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(16, name="d"), keras.layers.Reshape((4, 4, 1)),
                              keras.layers.Conv2D(2, 1, name="c"),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no receptive field"):
        visualize.grad_cam(model, np.ones((4, 4, 1)), 0)


def test_grad_cam_refuses_a_layer_without_maps():
    model = one_by_one_model(CONV, DENSE, BIAS)
    with pytest.raises(ValueError, match="expected 4-D"):
        visualize.grad_cam(model, IMAGE, 0, layer_name="gap")


# saliency_map ---------------------------------------------------------------------------

@pytest.mark.parametrize("class_index", [0, 2])
def test_saliency_map_matches_the_hand_computation(class_index):
    # With a ReLU conv: dscore/dx(i, j, ch) = sum_k DENSE[k, c] CONV[ch, k] [A_k(i, j) > 0] / HW.
    model = one_by_one_model(CONV, DENSE, BIAS, activation="relu")
    active = (IMAGE @ CONV > 0).astype("float32")                        # (5, 5, 2)
    gradient = np.einsum("ijk,ck->ijc", active * DENSE[:, class_index], CONV) / 25
    saliency = visualize.saliency_map(model, IMAGE, class_index)
    assert saliency.shape == (5, 5)
    np.testing.assert_allclose(saliency, np.abs(gradient).max(axis=-1), atol=1e-6)


# occlusion_maps -------------------------------------------------------------------------

def brute_force_squares(image, patch_size, stride, fill, measure):
    """Hide one square at a time, by loops; place ``measure(image, hidden)`` at the squares' centres.

    The squares start every ``stride`` pixels from ``stride - patch_size`` (clipped to the
    image), as in ``visualize.occlusion_maps``; the values are interpolated linearly between
    the squares' centres and kept constant beyond them.
    """
    height, width = image.shape[:2]
    tops = list(range(stride - patch_size, height, stride))
    lefts = list(range(stride - patch_size, width, stride))
    values = np.zeros((len(tops), len(lefts)))
    for row, top in enumerate(tops):
        for col, left in enumerate(lefts):
            hidden = image.copy()
            hidden[max(top, 0):top + patch_size, max(left, 0):left + patch_size] = fill
            values[row, col] = measure(image, hidden)
    # The centre of a square starting at t is t + (patch_size - 1) / 2; np.interp is linear
    # between centres and keeps the nearest value beyond them.
    centre = lambda starts: np.array(starts) + (patch_size - 1) / 2  # noqa: E731
    by_rows = np.stack([np.interp(np.arange(width), centre(lefts), r) for r in values])
    return np.stack([np.interp(np.arange(height), centre(tops), c) for c in by_rows.T], axis=1)


def brute_force_occlusion(model, image, class_index, patch_size, stride, fill):
    """The drop of the class score when each square is hidden, by loops."""
    logits = keras.Model(model.inputs[0], model.layers[-1].input)
    kernel, bias = model.layers[-1].get_weights()
    score = lambda x: float((logits(x[None]).numpy() @ kernel + bias)[0, class_index])  # noqa: E731
    return brute_force_squares(image, patch_size, stride, fill, lambda x, hidden: score(x) - score(hidden))


@pytest.mark.parametrize("patch_size, stride", [(4, 2), (3, 2), (5, 5)])
def test_occlusion_maps_match_hiding_one_square_at_a_time(patch_size, stride):
    keras.utils.set_random_seed(9)
    model = keras.Sequential([
        keras.Input((10, 9, 2)),
        keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ])
    images = np.random.default_rng(10).uniform(0, 1, (3, 10, 9, 2)).astype("float32")
    fill = np.array([0.5, 0.2], "float32")
    maps = visualize.occlusion_maps(model, images, [0, 2, 1], patch_size, stride, fill=fill,
                                    images_per_batch=2)
    assert maps.shape == (3, 10, 9) and maps.dtype == np.float32
    for image, class_index, found in zip(images, [0, 2, 1], maps):
        expected = brute_force_occlusion(model, image, class_index, patch_size, stride, fill)
        np.testing.assert_allclose(found, expected, atol=1e-4)
    assert np.abs(maps).max() > 1e-2      # not a comparison of maps that are zero everywhere


def test_occlusion_maps_default_fill_is_the_image_mean_colour():
    # A linear score sum(x): hiding a square with the mean colour changes it by
    # sum over the square of (x - mean); a constant image gives a map of zeros.
    model = keras.Sequential([keras.Input((6, 6, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(1, kernel_initializer="ones")])
    constant = np.full((1, 6, 6, 3), 7.0, "float32")
    assert not visualize.occlusion_maps(model, constant, [0], 2, 2).any()
    image = np.zeros((1, 6, 6, 3), "float32")
    image[0, :2, :2] = 36.0                    # mean colour 4 in each channel
    found = visualize.occlusion_maps(model, image, [0], 2, 2)[0]
    # Squares of 2x2 at rows and columns 0, 2, 4, centred at 0.5, 2.5, 4.5: pixel (0, 0) has
    # the first square's drop, pixels from (3, 3) on lie between squares of zeros only.
    assert found[0, 0] == pytest.approx(4 * 3 * (36 - 4))
    np.testing.assert_allclose(found[3:, 3:], 4 * 3 * (0 - 4), rtol=1e-6)


def test_occlusion_maps_check_their_arguments():
    model = one_by_one_model(CONV, DENSE, BIAS)
    with pytest.raises(ValueError, match="stride"):
        visualize.occlusion_maps(model, IMAGE[None], [0], patch_size=2, stride=3)
    with pytest.raises(ValueError, match="class_indices"):
        visualize.occlusion_maps(model, IMAGE[None], [0, 1])
    with pytest.raises(ValueError, match="images"):
        visualize.occlusion_maps(model, IMAGE, [0])


# occlusion_image_change -----------------------------------------------------------------

def brute_force_image_change(image, patch_size, stride, fill):
    """The change of the pixels when each square is hidden, by loops, placed as occlusion places drops."""
    return brute_force_squares(image, patch_size, stride, fill, lambda x, hidden: np.linalg.norm(x - hidden))


@pytest.mark.parametrize("patch_size, stride", [(4, 2), (3, 2), (5, 5)])
def test_occlusion_image_change_matches_hiding_one_square_at_a_time(patch_size, stride):
    images = np.random.default_rng(11).uniform(0, 1, (3, 10, 9, 2)).astype("float32")
    fill = np.array([0.5, 0.2], "float32")
    maps = visualize.occlusion_image_change(images, patch_size, stride, fill=fill)
    assert maps.shape == (3, 10, 9) and maps.dtype == np.float32
    for image, found in zip(images, maps):
        np.testing.assert_allclose(found, brute_force_image_change(image, patch_size, stride, fill),
                                   atol=1e-5)


def test_occlusion_image_change_uses_the_squares_and_places_of_occlusion_maps():
    # One bright pixel on a black one-channel image, filled with 0, and a score that sums the
    # pixels: hiding a square lowers the score by exactly as much as it changes the pixels.
    model = keras.Sequential([keras.Input((7, 9, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, kernel_initializer="ones")])
    image = np.zeros((1, 7, 9, 1), "float32")
    image[0, 2, 5] = 6.0
    for patch_size, stride in [(4, 2), (3, 3), (5, 4)]:
        drops = visualize.occlusion_maps(model, image, [0], patch_size, stride, fill=0.0)
        change = visualize.occlusion_image_change(image, patch_size, stride, fill=0.0)
        np.testing.assert_allclose(change, drops, atol=1e-5)
        assert change.max() > 0


def test_occlusion_image_change_default_fill_is_the_image_mean_colour():
    constant = np.full((2, 6, 6, 3), 7.0, "float32")
    assert not visualize.occlusion_image_change(constant, 2, 2).any()
    image = np.zeros((1, 6, 6, 3), "float32")
    image[0, :2, :2] = 36.0                    # mean colour 4 in each channel
    found = visualize.occlusion_image_change(image, 2, 2)[0]
    # The first square (2x2, 3 channels) changes 12 values from 36 to 4; the last from 0 to 4.
    assert found[0, 0] == pytest.approx(np.sqrt(12) * 32)
    np.testing.assert_allclose(found[5, 5], np.sqrt(12) * 4, rtol=1e-6)


def test_occlusion_image_change_checks_its_arguments():
    with pytest.raises(ValueError, match="stride"):
        visualize.occlusion_image_change(IMAGE[None], patch_size=2, stride=3)
    with pytest.raises(ValueError, match="images"):
        visualize.occlusion_image_change(IMAGE)


# peak_weights ---------------------------------------------------------------------------

def test_peak_weights_single_highest_pixel_is_the_argmax():
    maps = np.random.default_rng(12).uniform(0.1, 1, (5, 6, 7))
    weights = visualize.peak_weights(maps)
    expected = np.zeros_like(maps)
    rows, cols = np.unravel_index(maps.reshape(5, -1).argmax(axis=1), (6, 7))
    expected[np.arange(5), rows, cols] = 1.0
    np.testing.assert_array_equal(weights, expected)


def test_peak_weights_split_ties_evenly_and_ignore_maps_without_a_positive_peak():
    maps = np.zeros((3, 4, 4))
    maps[0, :3, 0] = 2.0                         # three tied pixels
    maps[0, 3, 3] = 1.0
    maps[2] = -1.0                               # negative everywhere: points nowhere
    weights = visualize.peak_weights(maps)
    np.testing.assert_allclose(weights[0, :3, 0], 1 / 3)
    assert weights[0].sum() == pytest.approx(1.0) and weights[0, 3, 3] == 0
    assert not weights[1].any() and not weights[2].any()
    target = np.zeros((3, 4, 4), bool)
    target[:, 0, :] = True                       # the first row: one of the three tied pixels
    np.testing.assert_allclose((weights * target).sum(axis=(1, 2)), [1 / 3, 0, 0])


def test_peak_weights_check_the_shape():
    with pytest.raises(ValueError, match="maps"):
        visualize.peak_weights(np.zeros((4, 4)))


# max_activating_patches -----------------------------------------------------------------

def test_max_activating_patches_by_hand():
    # A 3x3 all-ones conv ("valid") after a 2x2 pooling: a unit sees 6x6 input pixels.
    model = keras.Sequential([
        keras.Input((12, 12, 1)),
        keras.layers.AveragePooling2D(2, name="pool"),
        keras.layers.Conv2D(1, 3, kernel_initializer="ones", use_bias=False, name="conv"),
    ])
    images = np.zeros((4, 12, 12, 1), "float32")
    images[1, 2:8, 4:10] = 1.0        # fills exactly the field of unit (1, 2): 36 / 4 = 9
    images[3, 0, 0] = 4.0             # one bright pixel in the corner: unit (0, 0) gets 1
    images[2, 11, 11] = 2.0           # unit (3, 3) gets 0.5
    found = visualize.max_activating_patches(model, "conv", images, 0, top_k=3)
    assert found.positions.tolist() == [[1, 1, 2], [3, 0, 0], [2, 3, 3]]
    np.testing.assert_allclose(found.scores, [9.0, 1.0, 0.5])
    assert found.patches.shape == (3, 6, 6, 1)
    np.testing.assert_array_equal(found.patches[0], images[1, 2:8, 4:10])
    np.testing.assert_array_equal(found.patches[1], images[3, 0:6, 0:6])
    np.testing.assert_array_equal(found.patches[2], images[2, 6:12, 6:12])


def test_max_activating_patches_pads_with_zeros_at_the_border():
    model = keras.Sequential([
        keras.Input((6, 6, 1)),
        keras.layers.Conv2D(1, 3, padding="same", kernel_initializer="ones", use_bias=False,
                            name="conv"),
    ])
    images = np.zeros((1, 6, 6, 1), "float32")
    images[0, 0, 0] = 1.0
    images[0, 0, 1] = 1.0
    images[0, 1, 0] = 1.0
    found = visualize.max_activating_patches(model, "conv", images, 0, top_k=1)
    assert found.positions.tolist() == [[0, 0, 0]]
    expected = np.zeros((3, 3, 1), "float32")
    expected[1:, 1:] = images[0, :2, :2]
    np.testing.assert_array_equal(found.patches[0], expected)


def test_max_activating_patches_of_several_filters_match_one_at_a_time():
    keras.utils.set_random_seed(13)
    model = keras.Sequential([keras.Input((12, 12, 2)),
                              keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
                              keras.layers.MaxPooling2D(2, name="p1"),
                              keras.layers.Conv2D(5, 3, name="c2")])
    images = np.random.default_rng(14).uniform(0, 1, (7, 12, 12, 2)).astype("float32")
    together = visualize.max_activating_patches(model, "c2", images, [3, 0, 4], top_k=4, batch_size=3)
    assert isinstance(together, list) and len(together) == 3
    for filter_index, found in zip([3, 0, 4], together):
        alone = visualize.max_activating_patches(model, "c2", images, filter_index, top_k=4)
        assert isinstance(alone, visualize.Patches)
        np.testing.assert_array_equal(found.positions, alone.positions)
        np.testing.assert_array_equal(found.patches, alone.patches)
        np.testing.assert_allclose(found.scores, alone.scores, rtol=1e-6)
    assert len({tuple(found.positions[0]) for found in together}) > 1   # the filters differ


def test_max_activating_patches_checks_top_k():
    model = vgg_like()
    with pytest.raises(ValueError, match="top_k"):
        visualize.max_activating_patches(model, "c1", np.zeros((2, 32, 32, 1)), 0, top_k=3)


# filter_by_gradient_ascent --------------------------------------------------------------

def test_gradient_ascent_follows_the_sign_of_the_kernel():
    # A 1x1 conv with weights (+1, -1, 0): the mean activation grows when channel 0
    # rises and channel 1 falls; channel 2 has zero gradient and keeps its start.
    model = keras.Sequential([keras.Input((4, 4, 3)),
                              keras.layers.Conv2D(1, 1, use_bias=False, name="c")])
    model.get_layer("c").set_weights([np.array([1.0, -1.0, 0.0]).reshape(1, 1, 3, 1)])
    start = visualize.filter_by_gradient_ascent(model, "c", 0, steps=0)
    image = visualize.filter_by_gradient_ascent(model, "c", 0, steps=100)
    assert image.shape == (4, 4, 3)
    assert (image[..., 0] == 255).all() and (image[..., 1] == 0).all()
    np.testing.assert_array_equal(image[..., 2], start[..., 2])


def test_gradient_ascent_raises_the_activation():
    keras.utils.set_random_seed(0)
    model = vgg_like()
    extractor = visualize.activation_model(model, ["c4"])
    before = visualize.filter_by_gradient_ascent(model, "c4", 0, steps=0)
    after = visualize.filter_by_gradient_ascent(model, "c4", 0, steps=10)
    mean = lambda image: float(np.mean(extractor(image[None])[0][..., 0]))  # noqa: E731
    assert mean(after) > mean(before)


# plots ----------------------------------------------------------------------------------

def test_plot_filters_one_panel_per_filter():
    model = one_by_one_model(CONV, DENSE, BIAS)
    fig = visualize.plot_filters(model, columns=4)
    assert [ax.get_title() for ax in fig.axes] == ["0", "1", "", ""]


def test_plot_feature_maps_shows_the_input_and_the_maps():
    model = one_by_one_model(CONV, DENSE, BIAS)
    fig = visualize.plot_feature_maps(model, IMAGE, "conv")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["input", "conv:0", "conv:1"]


def test_grad_cams_of_a_batch_match_the_direct_computation_image_by_image():
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((12, 12, 3)),
        keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c1"),
        keras.layers.MaxPooling2D(2, name="p1"),
        keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="c2"),
        keras.layers.Flatten(),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ])
    images = np.random.default_rng(4).uniform(0, 1, (6, 12, 12, 3)).astype("float32")
    classes = [0, 1, 2, 2, 1, 0]
    batch = visualize.grad_cams(model, images, classes, "c2")
    assert batch.shape == (6, 12, 12)
    for image, class_index, heatmap in zip(images, classes, batch):
        np.testing.assert_allclose(heatmap, direct_grad_cam(model, image, class_index, "c2"),
                                   atol=1e-5)
    assert (batch.max(axis=(1, 2)) > 0).sum() >= 3
    with pytest.raises(ValueError, match="class_indices"):
        visualize.grad_cams(model, images, [0, 1])


def test_saliency_maps_of_a_batch_match_image_by_image():
    model = one_by_one_model(CONV, DENSE, BIAS, activation="relu")
    images = RNG.uniform(-1, 1, (4, 5, 5, 3)).astype("float32")
    batch = visualize.saliency_maps(model, images, [0, 1, 2, 0])
    for image, class_index, saliency in zip(images, [0, 1, 2, 0], batch):
        active = (image @ CONV > 0).astype("float32")
        gradient = np.einsum("ijk,ck->ijc", active * DENSE[:, class_index], CONV) / 25
        np.testing.assert_allclose(saliency, np.abs(gradient).max(axis=-1), atol=1e-6)


def test_gradient_ascent_on_several_filters_ascends_each_on_its_own():
    keras.utils.set_random_seed(5)
    model = keras.Sequential([keras.Input((16, 16, 3)),
                              keras.layers.Conv2D(4, 3, padding="same", activation="tanh", name="c1"),
                              keras.layers.Conv2D(3, 3, padding="same", name="c2")])
    together = visualize.filter_by_gradient_ascent(model, "c2", [2, 0, 2], steps=5)
    assert together.shape == (3, 16, 16, 3)
    for image, filter_index in zip(together, [2, 0, 2]):
        alone = visualize.filter_by_gradient_ascent(model, "c2", filter_index, steps=5)
        np.testing.assert_allclose(image, alone, atol=1e-3)
    assert np.abs(together[0] - together[1]).max() > 1.0     # different filters, different images
    with pytest.raises(ValueError, match="steps"):
        visualize.filter_by_gradient_ascent(model, "c2", 0, steps=-1)
