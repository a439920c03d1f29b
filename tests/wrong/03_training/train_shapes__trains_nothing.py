# cell: train_shapes
# wrong: builds and compiles the network but never trains it (it scales its input itself, and still knows nothing)
def train_shapes(x_train, y_train, x_val, y_val):
    """Build, compile and train a network on shapes images; return it.

    Parameters
    ----------
    x_train : ndarray of uint8, shape (n_train, size, size, 3)
    y_train : ndarray of int, shape (n_train,)
    x_val : ndarray of uint8, shape (n_val, size, size, 3)
    y_val : ndarray of int, shape (n_val,)

    Returns
    -------
    keras.Model
        Takes uint8 images (n, size, size, 3), returns (n, 10) class scores.
    """
    model = keras.Sequential([
        keras.Input(x_train.shape[1:]),
        layers.Rescaling(1 / 255),
        layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
