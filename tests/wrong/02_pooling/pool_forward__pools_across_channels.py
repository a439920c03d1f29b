# cell: pool_forward
# wrong: takes the max or mean of the whole window, all channels together
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
    m, n_H_prev, n_W_prev, n_C = A_prev.shape
    n_H = (n_H_prev - f) // stride + 1
    n_W = (n_W_prev - f) // stride + 1
    reduce = np.max if mode == "max" else np.mean
    A = np.zeros((m, n_H, n_W, n_C))
    for i in range(m):
        for h in range(n_H):
            for w in range(n_W):
                window = A_prev[i, h * stride : h * stride + f, w * stride : w * stride + f, :]
                A[i, h, w, :] = reduce(window)
    return A
