# cell: build_augmentation
# wrong: flips with tf.image inside a Lambda layer, so the flip also happens at inference
def build_augmentation():
    """Return the augmentation layers of the table above.

    Returns
    -------
    keras.Sequential
        RandomFlip, RandomTranslation, RandomRotation, in this order.
    """
    return keras.Sequential([
        layers.Lambda(lambda images: tf.image.flip_left_right(images)),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
        layers.RandomRotation(18 / 360, fill_mode="nearest"),
    ])
