# cell: conv_output_size
# wrong: right values, but np.floor / np.ceil return floats, not ints
def conv_output_size(n, f, stride, padding):
    """Return a convolution's output length along one axis, as TensorFlow computes it.

    Parameters
    ----------
    n : int
        Input length (height or width).
    f : int
        Filter length along the same axis.
    stride : int
        How far the filter moves between two windows.
    padding : {"valid", "same"}
        TensorFlow's padding word, in lower case.

    Returns
    -------
    int
        The output length.

    Raises
    ------
    ValueError
        If padding is neither "valid" nor "same".
    """
    if padding == "valid":
        return np.floor((n - f) / stride) + 1
    if padding == "same":
        return np.ceil(n / stride)
    raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
