# cell: train_transfer
# wrong: the right model, trained for a single epoch
def train_transfer(base, x_train, y_train):
    model = build_transfer_model(base, 10)
    model.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
    return model
