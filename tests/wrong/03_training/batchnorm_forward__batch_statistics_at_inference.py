# cell: batchnorm_forward
# wrong: normalises with the batch's own statistics at inference too
def batchnorm_forward(x, gamma, beta, moving_mean, moving_variance, training, epsilon=1e-3):
    """Batch-normalise x over every axis but the last, with the batch's or the stored statistics.

    Parameters
    ----------
    x : ndarray, shape (N, C) or (N, H, W, C)
    gamma, beta : ndarray, shape (C,)
        Learned scale and shift.
    moving_mean, moving_variance : ndarray, shape (C,)
        Statistics stored during training, used at inference.
    training : bool
        True: normalise with the batch's mean and variance; False: with the stored ones.
    epsilon : float, default 1e-3

    Returns
    -------
    y : ndarray, the shape of x
    """
    axes = tuple(range(x.ndim - 1))
    mean, variance = x.mean(axis=axes), x.var(axis=axes)
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta
