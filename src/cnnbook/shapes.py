"""Drawn shapes: a catalogue of outlines and a vectorised rasteriser for them.

:func:`cnnbook.data.make_shapes` builds its images from these pieces; this
module holds the geometry. Every shape is described in its own frame, a square
``[-1, 1] x [-1, 1]`` with ``v`` pointing down (as image rows do), and fits
inside the unit circle. :func:`inside` tells, for arrays of such coordinates,
which points fall inside a shape; the caller maps each pixel of each image
into the frame of that image's object (shift, rotation, scale), so one call
draws a whole batch of objects of one class at once.

Two catalogues:

``TARGET_SHAPES``
    The ten classes of :func:`cnnbook.data.make_shapes`, the course's CIFAR-10
    stand-in: circle, square, triangle, star, cross, ring, ellipse, pentagon,
    arrow, heart.
``SOURCE_SHAPES``
    Twenty other shapes (hexagon, crescent, L-shape, ...) for a source task
    that a network can be pretrained on before it is transferred to the ten.
"""

import numpy as np


def _regular(count, radius=1.0, start=-90.0):
    """Return the corners (count, 2) of a regular polygon, the first at angle ``start``."""
    angles = np.deg2rad(start + 360.0 * np.arange(count) / count)
    return np.column_stack([radius * np.cos(angles), radius * np.sin(angles)])


def _star(points, inner, start=-90.0):
    """Return the 2 * points corners of a star, alternating radius 1 and ``inner``."""
    radii = np.where(np.arange(2 * points) % 2 == 0, 1.0, inner)
    angles = np.deg2rad(start + 180.0 * np.arange(2 * points) / points)
    return np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])


def _box(half_width, half_height):
    return np.array([[-half_width, -half_height], [half_width, -half_height],
                     [half_width, half_height], [-half_width, half_height]])


def _fit(loops, radius=0.98):
    """Scale loops of corners so that the farthest corner lies at ``radius``."""
    farthest = max(np.hypot(*np.asarray(loop).T).max() for loop in loops)
    return [np.asarray(loop, dtype=float) * (radius / farthest) for loop in loops]


# Polygons: one or more closed loops of corners (u, v), filled with the even-odd rule,
# so a loop inside another is a hole; each scaled by _fit to reach radius 0.98.
_POLYGONS = {
    "square": [_box(0.7, 0.7)],
    "triangle": [_regular(3)],
    "pentagon": [_regular(5)],
    "star": [_star(5, 0.45)],
    "cross": [np.array([[-0.3, -0.9], [0.3, -0.9], [0.3, -0.3], [0.9, -0.3], [0.9, 0.3],
                        [0.3, 0.3], [0.3, 0.9], [-0.3, 0.9], [-0.3, 0.3], [-0.9, 0.3],
                        [-0.9, -0.3], [-0.3, -0.3]])],
    "arrow": [np.array([[-0.95, -0.2], [0.15, -0.2], [0.15, -0.6], [0.95, 0.0],
                        [0.15, 0.6], [0.15, 0.2], [-0.95, 0.2]])],
    "hexagon": [_regular(6, start=0.0)],
    "octagon": [_regular(8, start=22.5)],
    "rhombus": [np.array([[0.0, -1.0], [0.55, 0.0], [0.0, 1.0], [-0.55, 0.0]])],
    "trapezoid": [np.array([[-0.45, -0.55], [0.45, -0.55], [0.95, 0.55], [-0.95, 0.55]])],
    "parallelogram": [np.array([[-0.5, -0.5], [0.95, -0.5], [0.5, 0.5], [-0.95, 0.5]])],
    "l_shape": [np.array([[-0.6, -0.9], [-0.15, -0.9], [-0.15, 0.45], [0.7, 0.45],
                          [0.7, 0.9], [-0.6, 0.9]])],
    "t_shape": [np.array([[-0.85, -0.85], [0.85, -0.85], [0.85, -0.45], [0.22, -0.45],
                          [0.22, 0.9], [-0.22, 0.9], [-0.22, -0.45], [-0.85, -0.45]])],
    "chevron": [np.array([[-0.9, -0.6], [-0.45, -0.6], [0.0, 0.0], [0.45, -0.6], [0.9, -0.6],
                          [0.0, 0.65], ])],
    "hourglass": [np.array([[-0.7, -0.8], [0.7, -0.8], [0.12, 0.0], [0.7, 0.8], [-0.7, 0.8],
                            [-0.12, 0.0]])],
    "house": [np.array([[0.0, -0.95], [0.75, -0.2], [0.75, 0.85], [-0.75, 0.85],
                        [-0.75, -0.2]])],
    "kite": [np.array([[0.0, -1.0], [0.6, -0.35], [0.0, 1.0], [-0.6, -0.35]])],
    "tri_star": [_star(3, 0.3)],
    "hexagram": [_star(6, 0.58)],
    "square_frame": [_box(0.75, 0.75), _box(0.42, 0.42)],
    "lightning": [np.array([[0.1, -1.0], [0.55, -1.0], [0.2, -0.15], [0.6, -0.15],
                            [-0.35, 1.0], [-0.05, 0.1], [-0.45, 0.1]])],
    "bar": [_box(0.95, 0.25)],
}
POLYGONS = {name: _fit(loops) for name, loops in _POLYGONS.items()}


def _circle(u, v):
    return u * u + v * v <= 0.81


def _ellipse(u, v):
    return (u / 0.95) ** 2 + (v / 0.5) ** 2 <= 1.0


def _ring(u, v):
    r2 = u * u + v * v
    return (r2 <= 0.9) & (r2 >= 0.3)


def _heart(u, v):
    # The classic heart curve, point down; its enclosing circle has radius 1.25 around
    # (0, 0.25), mapped onto a circle of radius 0.98 around the frame's centre.
    x, y = u * (1.25 / 0.98), 0.25 - v * (1.25 / 0.98)
    return (x * x + y * y - 1.0) ** 3 - x * x * y ** 3 <= 0.0


def _crescent(u, v):
    return (u * u + v * v <= 0.85) & ((u - 0.45) ** 2 + (v + 0.15) ** 2 >= 0.5)


def _half_disc(u, v):
    return (u * u + (v - 0.35) ** 2 <= 0.9) & (v <= 0.35)


def _teardrop(u, v):
    # A disc below, a cone up to a point: inside when under both tangent lines.
    disc = u * u + (v - 0.35) ** 2 <= 0.36
    cone = (v <= 0.35) & (np.abs(u) <= 0.6 * (v + 0.95) / 1.3)
    return disc | cone


def _clover(u, v):
    leaves = _regular(3, radius=0.45)
    inside_any = np.zeros(np.broadcast(u, v).shape, dtype=bool)
    for x0, y0 in leaves:
        inside_any |= (u - x0) ** 2 + (v - y0) ** 2 <= 0.2
    return inside_any


IMPLICIT = {
    "circle": _circle,
    "ellipse": _ellipse,
    "ring": _ring,
    "heart": _heart,
    "crescent": _crescent,
    "half_disc": _half_disc,
    "teardrop": _teardrop,
    "clover": _clover,
}

TARGET_SHAPES = ("circle", "square", "triangle", "star", "cross",
                 "ring", "ellipse", "pentagon", "arrow", "heart")
SOURCE_SHAPES = ("hexagon", "octagon", "rhombus", "trapezoid", "parallelogram",
                 "crescent", "half_disc", "l_shape", "t_shape", "chevron",
                 "hourglass", "house", "kite", "teardrop", "tri_star",
                 "hexagram", "square_frame", "lightning", "clover", "bar")
ALL_SHAPES = TARGET_SHAPES + SOURCE_SHAPES


def _in_polygon(u, v, loops):
    """Return where (u, v) lies inside the loops (even-odd rule), by counting edge crossings."""
    inside_mask = np.zeros(np.broadcast(u, v).shape, dtype=bool)
    for corners in loops:
        following = np.roll(corners, -1, axis=0)
        for (u1, v1), (u2, v2) in zip(corners, following):
            if v1 == v2:
                continue  # a horizontal edge is never crossed by a horizontal ray
            straddles = (v1 > v) != (v2 > v)
            crossing_u = u1 + (v - v1) * ((u2 - u1) / (v2 - v1))
            inside_mask ^= straddles & (u < crossing_u)
    return inside_mask


def inside(name, u, v):
    """Return which points lie inside a shape, in the shape's own frame.

    Parameters
    ----------
    name : str
        A shape of ``ALL_SHAPES``.
    u, v : ndarray
        Coordinates of the points in the shape's frame (``u`` to the right,
        ``v`` down, the shape inside the unit circle); any broadcastable shapes.

    Returns
    -------
    ndarray of bool
        True where the point is inside, with the broadcast shape of ``u`` and ``v``.

    Raises
    ------
    ValueError
        If ``name`` is not a known shape.

    Examples
    --------
    >>> inside("ring", np.array([0.0, 0.8, 0.99]), np.zeros(3))
    array([False,  True, False])
    >>> inside("square", np.array([0.6, 0.8]), np.array([0.6, 0.0]))
    array([ True, False])
    """
    if name in IMPLICIT:
        return IMPLICIT[name](u, v)
    if name in POLYGONS:
        return _in_polygon(u, v, POLYGONS[name])
    raise ValueError(f"name must be one of {ALL_SHAPES}, got {name!r}")
