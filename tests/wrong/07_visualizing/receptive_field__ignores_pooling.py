# cell: receptive_field
# wrong: counts only the convolutions, as if poolings did not widen the window
def receptive_field(model, layer_name):
    size, jump, start = 1, 1, 0.0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kernel, stride = layer.kernel_size[0], layer.strides[0]
            left = 0
            if layer.padding == "same":
                n = layer.input.shape[1]
                out = -(-n // stride)
                left = max((out - 1) * stride + kernel - n, 0) // 2
            size += (kernel - 1) * jump
            start += ((kernel - 1) / 2 - left) * jump
            jump *= stride
        if layer.name == layer_name:
            break
    return size, jump, start
