# cell: conv_costs
# wrong: with a bottleneck, counts only the large convolution over the reduced channels, not the 1×1 layer itself
def conv_costs(height, width, in_channels, filters, kernel_size, reduce=None):
    channels = in_channels if reduce is None else reduce
    parameters = kernel_size * kernel_size * channels * filters + filters
    multiply_adds = height * width * kernel_size * kernel_size * channels * filters
    return parameters, multiply_adds
