# cell: conv_output_size
# wrong: treats any padding other than "valid" as "same" instead of raising ValueError
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
        return (n - f) // stride + 1
    return (n + stride - 1) // stride
