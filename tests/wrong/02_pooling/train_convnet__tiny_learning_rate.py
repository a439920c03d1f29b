# cell: train_convnet
# wrong: plain SGD with a learning rate of 0.001: it barely moves
def train_convnet(model, x_train, y_train, x_val, y_val):
    """Compile and train a model on the digits.

    Parameters
    ----------
    model : keras.Model
        A new, untrained model from build_convnet().
    x_train : ndarray, shape (n_train, 8, 8, 1)
        Training images, values in [0, 1].
    y_train : ndarray, shape (n_train,)
        Their labels, 0 to 9.
    x_val : ndarray, shape (n_val, 8, 8, 1)
        Validation images, to watch the training (not to train on).
    y_val : ndarray, shape (n_val,)
        Their labels.

    Returns
    -------
    keras.callbacks.History
        What model.fit returns.
    """
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=10, batch_size=64, verbose=0)
