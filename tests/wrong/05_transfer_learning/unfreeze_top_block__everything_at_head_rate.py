# cell: unfreeze_top_block
# wrong: fine-tunes the whole base at the head's learning rate 1e-3
def unfreeze_top_block(model, learning_rate=1e-4):
    model.get_layer(pretrain.BASE_NAME).trainable = True
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model
