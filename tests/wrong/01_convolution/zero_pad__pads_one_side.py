# cell: zero_pad
# wrong: adds the zeros only after the image (bottom and right), not on both sides
def zero_pad(X, pad):
    """Pad the height and width of every image in a batch with zeros.

    Parameters
    ----------
    X : ndarray, shape (m, n_H, n_W, n_C)
        A batch of m images.
    pad : int
        How many rows or columns of zeros to add on each side: top, bottom,
        left and right.

    Returns
    -------
    X_pad : ndarray, shape (m, n_H + 2 * pad, n_W + 2 * pad, n_C)
        The padded batch; X sits unchanged in the middle.
    """
    X_pad = np.pad(X, ((0, 0), (0, pad), (0, pad), (0, 0)), mode="constant")
    return X_pad
