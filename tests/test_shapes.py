"""Tests of cnnbook.shapes: the catalogue of outlines and its point-in-shape test."""

import numpy as np
import pytest
from matplotlib.path import Path

from cnnbook import shapes

GRID = np.linspace(-1.2, 1.2, 121)
U, V = np.meshgrid(GRID, GRID)


def test_catalogues_are_disjoint_and_complete():
    assert len(shapes.TARGET_SHAPES) == 10 and len(shapes.SOURCE_SHAPES) == 20
    assert not set(shapes.TARGET_SHAPES) & set(shapes.SOURCE_SHAPES)
    assert set(shapes.ALL_SHAPES) == set(shapes.POLYGONS) | set(shapes.IMPLICIT)


@pytest.mark.parametrize("name", shapes.ALL_SHAPES)
def test_every_shape_fits_in_the_unit_circle(name):
    mask = shapes.inside(name, U, V)
    assert not mask[U ** 2 + V ** 2 > 1.0].any()


@pytest.mark.parametrize("name", shapes.ALL_SHAPES)
def test_every_shape_covers_a_fair_share_of_the_unit_disc(name):
    # Between 10 % and 90 % of the disc: big enough to see, never a full disc.
    share = shapes.inside(name, U, V).sum() / (U ** 2 + V ** 2 <= 1.0).sum()
    assert 0.1 <= share <= 0.9, f"{name} covers {share:.2f} of the unit disc"


@pytest.mark.parametrize("name", sorted(shapes.POLYGONS))
def test_polygon_fill_matches_matplotlib(name):
    # An independent point-in-polygon test (even-odd rule over all loops).
    loops = shapes.POLYGONS[name]
    vertices = np.concatenate([np.vstack([loop, loop[:1]]) for loop in loops])
    codes = np.concatenate([[Path.MOVETO] + [Path.LINETO] * (len(loop) - 1) + [Path.CLOSEPOLY]
                            for loop in loops])
    points = np.column_stack([U.ravel(), V.ravel()]) + 1e-4  # off the edges
    expected = np.zeros(len(points), dtype=bool)
    for loop in loops:  # even-odd: each loop toggles
        expected ^= Path(np.vstack([loop, loop[:1]])).contains_points(points)
    assert len(codes) == len(vertices)
    actual = shapes.inside(name, points[:, 0], points[:, 1])
    np.testing.assert_array_equal(actual, expected)


@pytest.mark.parametrize("name,hollow", [("ring", True), ("square_frame", True),
                                          ("circle", False), ("star", False)])
def test_hollow_shapes_have_an_empty_centre(name, hollow):
    assert bool(shapes.inside(name, np.array(0.0), np.array(0.0))) is not hollow


def test_arrow_points_right_and_heart_points_down():
    assert shapes.inside("arrow", np.array([0.9, -0.9]), np.array([0.0, -0.5])).tolist() == [True, False]
    # The heart's lobes are at the top and its tip at the bottom (v grows downwards, as
    # image rows do): a row across the lobes is wider than a row near the tip.
    def width(v):
        return shapes.inside("heart", GRID, np.full_like(GRID, v)).sum()

    assert width(-0.4) > 1.5 * width(0.6) > 0


def test_unknown_shape_is_rejected():
    with pytest.raises(ValueError, match="name must be one of"):
        shapes.inside("blob", U, V)
