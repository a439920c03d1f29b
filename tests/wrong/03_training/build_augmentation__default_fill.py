# cell: build_augmentation
# wrong: keeps the layers' default fill_mode ("reflect") instead of "nearest"
def build_augmentation():
    """Return the augmentation layers of the table above.

    Returns
    -------
    keras.Sequential
        RandomFlip, RandomTranslation, RandomRotation, in this order.
    """
    return keras.Sequential([
        layers.RandomFlip("horizontal"),
        layers.RandomTranslation(0.1, 0.1),
        layers.RandomRotation(18 / 360),
    ])
