# cell: conv1x1_to_dense
# wrong: maps the kernel but drops the bias (returns zeros)
def conv1x1_to_dense(kernel, bias):
    return kernel.reshape(kernel.shape[2], kernel.shape[3]), np.zeros_like(bias)
