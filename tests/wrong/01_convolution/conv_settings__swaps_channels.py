# cell: conv_settings
# wrong: puts the output channels third and the input channels fourth in the filter shape
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
    filter_shape = (2, 2, 3, 1)
    strides = 2
    padding = "VALID"
    return filter_shape, strides, padding
