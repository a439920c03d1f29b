# cell: train_transfer
# wrong: trains on pixels divided by 255, though the base rescales its input itself (and the tests give uint8 images)
def train_transfer(base, x_train, y_train):
    model = build_transfer_model(base, 10)
    model.fit(x_train.astype("float32") / 255, y_train, epochs=40, batch_size=32, verbose=0)
    return model
