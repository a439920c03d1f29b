# cell: receptive_field
# wrong: multiplies the jump by the stride before widening the window with it
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
            jump *= stride
            size += (kernel - 1) * jump
            start += ((kernel - 1) / 2 - left) * jump
        if layer.name == layer_name:
            break
    return size, jump, start
