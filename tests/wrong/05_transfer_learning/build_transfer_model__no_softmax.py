# cell: build_transfer_model
# wrong: a head without softmax, whose raw scores the sparse categorical cross-entropy reads as probabilities
def build_transfer_model(base, num_classes, dropout=0.3):
    base.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = base(inputs, training=False)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, name="head")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
