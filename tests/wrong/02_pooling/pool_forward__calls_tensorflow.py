# cell: pool_forward
# wrong: calls tf.nn.max_pool2d / avg_pool2d, the references the tests compare with
def pool_forward(A_prev, f, stride, mode="max"):
    """Max- or average-pool every channel of a batch, without padding.

    Parameters
    ----------
    A_prev : ndarray, shape (m, n_H_prev, n_W_prev, n_C)
        A batch of m inputs with n_C channels.
    f : int
        Height and width of the pooling window.
    stride : int
        How far the window moves between two positions, along rows and columns.
    mode : {"max", "average"}
        Keep the largest value of each window, or its mean.

    Returns
    -------
    A : ndarray, shape (m, n_H, n_W, n_C)
        The pooled batch, with n_H = (n_H_prev - f) // stride + 1 and likewise n_W.
    """
    pool = tf.nn.max_pool2d if mode == "max" else tf.nn.avg_pool2d
    return pool(A_prev, ksize=f, strides=stride, padding="VALID").numpy()
