# cell: build_convnet
# wrong: leaves the convolutions at padding="valid", so the maps shrink
def build_convnet():
    """Return the untrained convnet of the table above, for (8, 8, 1) digit images.

    Returns
    -------
    keras.Sequential
        Seven layers: Conv2D, MaxPooling2D, Conv2D, MaxPooling2D, Flatten, Dense, Dense.
    """
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
