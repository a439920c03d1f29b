# cell: conv_output_size
# wrong: "same" as pad = (f - 1) // 2 on both sides, wrong for even f
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
        pad = 0
    elif padding == "same":
        pad = (f - 1) // 2
    else:
        raise ValueError(f"padding must be 'valid' or 'same', got {padding!r}")
    return (n - f + 2 * pad) // stride + 1
