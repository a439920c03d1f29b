# cell: conv_single_step
# wrong: uses the matrix product @ instead of the element-wise product
def conv_single_step(a_slice_prev, W, b):
    """Apply one filter to one window of the input: multiply, add up, add the bias.

    Parameters
    ----------
    a_slice_prev : ndarray, shape (f, f, n_C_prev)
        The window of the input under the filter, every channel.
    W : ndarray, shape (f, f, n_C_prev)
        The filter's weights.
    b : float
        The filter's bias.

    Returns
    -------
    Z : float
        One number: one value of one output feature map.
    """
    Z = np.sum(a_slice_prev @ W) + b
    return Z
