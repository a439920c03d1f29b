# cell: unfreeze_top_block
# wrong: unfreezes every layer of the top block, batch normalisation included, which then runs in training mode and drifts its moving statistics
def unfreeze_top_block(model, learning_rate=1e-4):
    base = model.get_layer(pretrain.BASE_NAME)
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name.startswith(pretrain.TOP_BLOCK)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
