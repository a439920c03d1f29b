# cell: train_best
# wrong: saves the best epoch but returns the model as fit left it (the last epoch)
def train_best(model, x_train, y_train, x_val, y_val, path, epochs):
    """Train a compiled model, keep its epoch of best validation accuracy in ``path``, return it reloaded.

    Parameters
    ----------
    model : keras.Model
        Compiled with metrics=["accuracy"].
    x_train, y_train : ndarray
        Training images and integer labels.
    x_val, y_val : ndarray
        Validation images and integer labels.
    path : str
        Where to save the best model (ends in ".keras").
    epochs : int

    Returns
    -------
    best : keras.Model
        The model saved at the best epoch, loaded back from ``path``.
    history : keras.callbacks.History
        What model.fit returns.
    """
    checkpoint = keras.callbacks.ModelCheckpoint(path, monitor="val_accuracy", save_best_only=True)
    history = model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=epochs,
                        batch_size=32, callbacks=[checkpoint], verbose=0)
    return model, history
