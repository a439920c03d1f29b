# cell: bottleneck_features
# wrong: divides the pixels by 255, though the base rescales its [0, 255] input itself
def bottleneck_features(base, images, batch_size=256):
    images = images.astype("float32") / 255
    batches = [np.asarray(base(images[start:start + batch_size], training=False))
               for start in range(0, len(images), batch_size)]
    return np.concatenate(batches).astype("float32")
