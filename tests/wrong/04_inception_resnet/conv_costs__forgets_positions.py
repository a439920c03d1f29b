# cell: conv_costs
# wrong: counts the multiply-adds of one output position only, not of all H·W
def conv_costs(height, width, in_channels, filters, kernel_size, reduce=None):
    parameters = multiply_adds = 0
    channels = in_channels
    if reduce is not None:
        parameters += channels * reduce + reduce
        multiply_adds += channels * reduce
        channels = reduce
    parameters += kernel_size * kernel_size * channels * filters + filters
    multiply_adds += kernel_size * kernel_size * channels * filters
    return parameters, multiply_adds
