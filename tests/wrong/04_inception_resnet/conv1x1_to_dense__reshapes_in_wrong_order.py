# cell: conv1x1_to_dense
# wrong: reshapes the (1, 1, C, K) kernel as if it were (K, C), scrambling which weight meets which channel
def conv1x1_to_dense(kernel, bias):
    channels, filters = kernel.shape[2], kernel.shape[3]
    return kernel.reshape(filters, channels).T, bias
