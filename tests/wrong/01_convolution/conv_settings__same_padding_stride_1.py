# cell: conv_settings
# wrong: "SAME" padding with stride 1 keeps the 4 x 4 size
def conv_settings():
    """Return settings that make tf.nn.conv2d turn a (1, 4, 4, 1) input into (1, 2, 2, 3).

    Returns
    -------
    filter_shape : tuple of 4 ints
        Shape of the filters tensor: (f_height, f_width, in_channels, out_channels).
    strides : int
        Step between two windows, the same along rows and columns.
    padding : str
        "VALID" or "SAME".
    """
    filter_shape = (2, 2, 1, 3)
    strides = 1
    padding = "SAME"
    return filter_shape, strides, padding
