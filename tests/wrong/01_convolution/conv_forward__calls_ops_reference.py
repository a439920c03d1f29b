# cell: conv_forward
# wrong: calls cnnbook.ops.conv2d, the reference the tests compare with, instead of computing
def conv_forward(A_prev, W, b, stride, pad):
    """Compute the forward pass of a convolutional layer on a batch.

    Parameters
    ----------
    A_prev : ndarray, shape (m, n_H_prev, n_W_prev, n_C_prev)
        A batch of m inputs.
    W : ndarray, shape (f, f, n_C_prev, n_C)
        n_C filters, each f x f over n_C_prev channels.
    b : ndarray, shape (n_C,)
        One bias per filter.
    stride : int
        How far the filter moves between two windows, along rows and columns.
    pad : int
        Zeros added on each side of the height and width before sliding.

    Returns
    -------
    Z : ndarray, shape (m, n_H, n_W, n_C)
        The output feature maps, with n_H and n_W as in the formula above.
    """
    Z = ops.conv2d(A_prev, W, b, stride=stride, padding=pad)
    return Z
