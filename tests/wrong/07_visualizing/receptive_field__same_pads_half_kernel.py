# cell: receptive_field
# wrong: takes the left padding of 'same' as k // 2 (symmetric padding), not TensorFlow's smaller half of the total
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
            left = kernel // 2 if layer.padding == "same" else 0
            size += (kernel - 1) * jump
            start += ((kernel - 1) / 2 - left) * jump
            jump *= stride
        if layer.name == layer_name:
            break
    return size, jump, start
