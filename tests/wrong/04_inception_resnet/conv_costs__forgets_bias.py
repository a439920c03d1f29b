# cell: conv_costs
# wrong: counts the weights but not the biases
def conv_costs(height, width, in_channels, filters, kernel_size, reduce=None):
    parameters = multiply_adds = 0
    channels = in_channels
    if reduce is not None:
        parameters += channels * reduce
        multiply_adds += height * width * channels * reduce
        channels = reduce
    parameters += kernel_size * kernel_size * channels * filters
    multiply_adds += height * width * kernel_size * kernel_size * channels * filters
    return parameters, multiply_adds
