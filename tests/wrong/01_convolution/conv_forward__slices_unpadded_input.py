# cell: conv_forward
# wrong: pads the input but then takes the windows from A_prev, not from the padded batch
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
    m, n_H_prev, n_W_prev, n_C_prev = A_prev.shape
    f, f, n_C_prev, n_C = W.shape
    n_H = (n_H_prev - f + 2 * pad) // stride + 1
    n_W = (n_W_prev - f + 2 * pad) // stride + 1
    A_prev_pad = zero_pad(A_prev, pad)
    Z = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                top, left = h * stride, w * stride
                a_slice_prev = A_prev[i, top:top + f, left:left + f, :]
                for c in range(n_C):
                    Z[i, h, w, c] = conv_single_step(a_slice_prev, W[:, :, :, c], b[c])
    return Z
