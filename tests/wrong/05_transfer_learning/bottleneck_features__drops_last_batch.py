# cell: bottleneck_features
# wrong: loops over full batches only, so the images of a last, smaller batch are lost
def bottleneck_features(base, images, batch_size=256):
    batches = [np.asarray(base(images[start:start + batch_size].astype("float32"), training=False))
               for start in range(0, len(images) - batch_size + 1, batch_size)]
    return np.concatenate(batches).astype("float32")
