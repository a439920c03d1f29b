# cell: train_shapes
# wrong: trains on images divided by 255 but leaves the scaling out of the model, so it sees 0-255 at test time
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
        layers.Conv2D(16, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(32, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train / 255, y_train, validation_data=(x_val / 255, y_val), epochs=6, batch_size=64, verbose=0)
    return model
