# cell: conv1x1_to_dense
# wrong: returns the weights as a (K, C) matrix, outputs by inputs
def conv1x1_to_dense(kernel, bias):
    return kernel[0, 0].T, bias
