# cell: bottleneck_features
# wrong: calls the base in training mode, so batch normalisation uses each batch's statistics
def bottleneck_features(base, images, batch_size=256):
    batches = [np.asarray(base(images[start:start + batch_size].astype("float32"), training=True))
               for start in range(0, len(images), batch_size)]
    return np.concatenate(batches).astype("float32")
