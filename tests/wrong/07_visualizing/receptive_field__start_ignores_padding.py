# cell: receptive_field
# wrong: treats 'same' like 'valid' for the start: unit 0's window never begins in the padding
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
            size += (kernel - 1) * jump
            start += (kernel - 1) / 2 * jump
            jump *= stride
        if layer.name == layer_name:
            break
    return size, jump, start
