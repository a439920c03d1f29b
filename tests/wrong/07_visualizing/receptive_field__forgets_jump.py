# cell: receptive_field
# wrong: widens the window by k - 1 input pixels at every layer, forgetting to multiply by the jump
def receptive_field(model, layer_name):
    size, jump, start = 1, 1, 0.0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kernel, stride = layer.kernel_size[0], layer.strides[0]
        elif isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
            kernel, stride = layer.pool_size[0], layer.strides[0]
        else:
            kernel = None
        if kernel is not None:
            left = 0
            if layer.padding == "same":
                n = layer.input.shape[1]
                out = -(-n // stride)
                left = max((out - 1) * stride + kernel - n, 0) // 2
            size += kernel - 1
            start += ((kernel - 1) / 2 - left) * jump
            jump *= stride
        if layer.name == layer_name:
            break
    return size, jump, start
