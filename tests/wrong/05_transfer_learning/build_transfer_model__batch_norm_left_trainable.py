# cell: build_transfer_model
# wrong: freezes only the convolutions; the batch normalisation layers stay trainable, run in training mode during fit and update their moving statistics
def build_transfer_model(base, num_classes, dropout=0.3):
    for layer in base.layers:
        if isinstance(layer, layers.Conv2D):
            layer.trainable = False
    inputs = keras.Input(base.input_shape[1:])
    x = base(inputs, training=False)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="head")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
