# cell: inception_module
# wrong: applies the pool branch's 1×1 projection before the max-pooling instead of after it
def inception_module(x, filters_1x1, filters_3x3_reduce, filters_3x3,
                     filters_5x5_reduce, filters_5x5, filters_pool_proj):
    def conv(tensor, filters, size):
        return layers.Conv2D(filters, size, padding="same", activation="relu")(tensor)

    branch_1 = conv(x, filters_1x1, 1)
    branch_3 = conv(conv(x, filters_3x3_reduce, 1), filters_3x3, 3)
    branch_5 = conv(conv(x, filters_5x5_reduce, 1), filters_5x5, 5)
    branch_pool = layers.MaxPooling2D(3, strides=1, padding="same")(conv(x, filters_pool_proj, 1))
    return layers.Concatenate(axis=-1)([branch_1, branch_3, branch_5, branch_pool])
