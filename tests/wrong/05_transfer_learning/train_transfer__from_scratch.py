# cell: train_transfer
# wrong: trains the same architecture from random weights instead of the pretrained base
def train_transfer(base, x_train, y_train):
    model = build_transfer_model(pretrain.build_base(), 10)
    model.get_layer(pretrain.BASE_NAME).trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=40, batch_size=32, verbose=0)
    return model
