# cell: pool_settings
# wrong: keeps the 2x2 window but moves it by 1, giving a 3x3 output
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
    ksize = 2
    strides = 1
    padding = "VALID"
    return ksize, strides, padding
