# cell: build_augmentation
# wrong: gives RandomRotation 18 (degrees) where it expects a fraction of a turn
def build_augmentation():
    """Return the augmentation layers of the table above.

    Returns
    -------
    keras.Sequential
        RandomFlip, RandomTranslation, RandomRotation, in this order.
    """
    return keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest"),
        layers.RandomRotation(18, fill_mode="nearest"),
    ])
