# cell: batchnorm_forward
# wrong: normalises each position over its channels (the last axis) instead of each channel over the batch
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
    if training:
        mean, variance = x.mean(axis=-1, keepdims=True), x.var(axis=-1, keepdims=True)
    else:
        mean, variance = moving_mean, moving_variance
    return gamma * (x - mean) / np.sqrt(variance + epsilon) + beta
