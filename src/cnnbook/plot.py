"""Figures that several chapters draw: feature maps in a grid, kernels as numbers.

Each function draws on Matplotlib axes and returns the figure, so a notebook can
show it, save it or test it.
"""

import math

import matplotlib.pyplot as plt
import numpy as np


def show_feature_maps(image, feature_maps, titles=None, columns=4, cmap="gray", size=2.2):
    """Draw an image followed by its feature maps in a grid.

    Parameters
    ----------
    image : ndarray, shape (H, W) or (H, W, 3)
        The input, drawn first (RGB if it has 3 channels, else with ``cmap``).
    feature_maps : ndarray, shape (H', W', K)
        ``K`` maps, one panel each, each scaled to its own range.
    titles : sequence of str, optional
        ``K`` titles for the maps (the input is titled "input").
    columns : int, default 4
        Panels per row.
    cmap : str, default "gray"
        Colour map for the single-channel panels.
    size : float, default 2.2
        Width and height of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_feature_maps(np.eye(4), np.zeros((3, 3, 2)), titles=["a", "b"])
    >>> [ax.get_title() for ax in fig.axes]
    ['input', 'a', 'b']
    """
    image = np.asarray(image)
    feature_maps = np.asarray(feature_maps)
    if feature_maps.ndim != 3:
        raise ValueError(
            f"feature_maps must have shape (H, W, K), got {feature_maps.ndim}-D {feature_maps.shape}"
        )
    num_maps = feature_maps.shape[-1]
    if titles is not None and len(titles) != num_maps:
        raise ValueError(f"titles must have one entry per map ({num_maps}), got {len(titles)}")
    if columns < 1:
        raise ValueError(f"columns must be a positive int, got {columns}")
    panels = num_maps + 1
    columns = min(columns, panels)
    rows = math.ceil(panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows), squeeze=False)
    axes = axes.ravel()
    axes[0].imshow(image, cmap=None if image.ndim == 3 else cmap)
    axes[0].set_title("input")
    for k in range(num_maps):
        axes[k + 1].imshow(feature_maps[..., k], cmap=cmap)
        axes[k + 1].set_title(titles[k] if titles is not None else f"map {k}")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[panels:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def show_kernel(kernel, ax=None, title=None, fmt="{:g}", cmap="coolwarm"):
    """Draw a 2-D kernel as a coloured grid with its numbers written in the cells.

    Parameters
    ----------
    kernel : ndarray, shape (kh, kw)
        The weights to show.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    title : str, optional
        Title of the axes.
    fmt : str, default "{:g}"
        Format of each number.
    cmap : str, default "coolwarm"
        Colour map, centred on zero.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_kernel(np.array([[1, 0, -1]] * 3), title="vertical edges")
    >>> [t.get_text() for t in fig.axes[0].texts][:3]
    ['1', '0', '-1']
    """
    kernel = np.asarray(kernel)
    if kernel.ndim != 2:
        raise ValueError(f"kernel must be 2-D (kh, kw), got shape {kernel.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.6 * kernel.shape[1] + 0.6, 0.6 * kernel.shape[0] + 0.6))
    else:
        fig = ax.figure
    limit = float(np.abs(kernel).max()) or 1.0
    ax.imshow(kernel, cmap=cmap, vmin=-limit, vmax=limit)
    for (row, col), value in np.ndenumerate(kernel):
        ax.text(col, row, fmt.format(value), ha="center", va="center", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return fig


def show_grid(array, ax=None, title=None, fmt="{:g}", highlight=None, cmap="Greys"):
    """Draw a small 2-D array as a table of numbers, optionally outlining a window.

    Parameters
    ----------
    array : ndarray, shape (H, W)
        The numbers to show (an input patch, a feature map...).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made if omitted.
    title : str, optional
        Title of the axes.
    fmt : str, default "{:g}"
        Format of each number.
    highlight : (row, col, height, width), optional
        A window to outline in red, e.g. where the kernel sits.
    cmap : str, default "Greys"
        Colour map of the cell backgrounds (kept light so numbers read well).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = show_grid(np.arange(16).reshape(4, 4), highlight=(0, 0, 2, 2))
    >>> len(fig.axes[0].patches)
    1
    """
    array = np.asarray(array)
    if array.ndim != 2:
        raise ValueError(f"array must be 2-D (H, W), got shape {array.shape}")
    if ax is None:
        fig, ax = plt.subplots(figsize=(0.55 * array.shape[1] + 0.6, 0.55 * array.shape[0] + 0.6))
    else:
        fig = ax.figure
    span = float(np.ptp(array)) or 1.0
    ax.imshow((array - array.min()) / span * 0.4, cmap=cmap, vmin=0, vmax=1)
    for (row, col), value in np.ndenumerate(array):
        ax.text(col, row, fmt.format(value), ha="center", va="center", fontsize=9)
    if highlight is not None:
        row, col, height, width = highlight
        ax.add_patch(
            plt.Rectangle((col - 0.5, row - 0.5), width, height, fill=False, lw=2.5, ec="red")
        )
    ax.set_xticks([])
    ax.set_yticks([])
    if title is not None:
        ax.set_title(title)
    return fig
