# cell: pool_settings
# wrong: 3x3 windows moved by 1: the right shape, but windows overlap
def pool_settings():
    """Return settings that make tf.nn.max_pool2d pool (1, 4, 4, 1) into (1, 2, 2, 1), block by block.

    Returns
    -------
    ksize : int
        Height and width of the pooling window.
    strides : int
        Step between two windows, the same along rows and columns.
    padding : str
        "VALID" or "SAME".
    """
    ksize = 3
    strides = 1
    padding = "VALID"
    return ksize, strides, padding
