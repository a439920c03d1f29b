"""Tests of cnnbook.plot: the figures chapters reuse."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnbook import plot  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_feature_maps_one_panel_per_map_plus_input():
    fig = plot.show_feature_maps(np.zeros((8, 8, 3)), np.zeros((6, 6, 5)), columns=3)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 6
    assert [ax.get_title() for ax in visible][:2] == ["input", "map 0"]


def test_feature_maps_hides_unused_panels():
    fig = plot.show_feature_maps(np.zeros((8, 8)), np.zeros((6, 6, 2)), columns=2)
    assert len(fig.axes) == 4
    assert [ax.get_visible() for ax in fig.axes] == [True, True, True, False]


def test_feature_maps_rejects_2d_maps():
    with pytest.raises(ValueError, match="feature_maps"):
        plot.show_feature_maps(np.zeros((8, 8)), np.zeros((6, 6)))


def test_feature_maps_rejects_wrong_number_of_titles():
    with pytest.raises(ValueError, match="titles"):
        plot.show_feature_maps(np.zeros((8, 8)), np.zeros((6, 6, 2)), titles=["one"])


def test_kernel_writes_every_weight():
    kernel = np.array([[0.5, -1.0], [2.0, 0.0]])
    fig = plot.show_kernel(kernel)
    assert [t.get_text() for t in fig.axes[0].texts] == ["0.5", "-1", "2", "0"]


def test_kernel_colour_scale_is_centred_on_zero():
    fig = plot.show_kernel(np.array([[1.0, -3.0]]))
    assert fig.axes[0].images[0].get_clim() == (-3.0, 3.0)


def test_kernel_rejects_3d():
    with pytest.raises(ValueError, match="kernel"):
        plot.show_kernel(np.zeros((3, 3, 1)))


def test_grid_outlines_the_window():
    fig = plot.show_grid(np.arange(9).reshape(3, 3), highlight=(1, 0, 2, 2))
    (rect,) = fig.axes[0].patches
    assert rect.get_xy() == (-0.5, 0.5)
    assert (rect.get_width(), rect.get_height()) == (2, 2)


def test_grid_draws_on_given_axes():
    fig, ax = plt.subplots()
    assert plot.show_grid(np.eye(2), ax=ax) is fig
    assert len(ax.texts) == 4
