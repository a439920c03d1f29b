# cell: unfreeze_top_block
# wrong: freezes the whole model first, then unfreezes the top block, so the head no longer trains
def unfreeze_top_block(model, learning_rate=1e-4):
    model.trainable = False
    base = model.get_layer(pretrain.BASE_NAME)
    base.trainable = True
    for layer in base.layers:
        layer.trainable = isinstance(layer, layers.Conv2D) and layer.name.startswith(pretrain.TOP_BLOCK)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
