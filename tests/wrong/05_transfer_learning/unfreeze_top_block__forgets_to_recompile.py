# cell: unfreeze_top_block
# wrong: changes the trainable flags but does not recompile, so the model keeps its old training step and learning rate
def unfreeze_top_block(model, learning_rate=1e-4):
    base = model.get_layer(pretrain.BASE_NAME)
    base.trainable = True
    for layer in base.layers:
        layer.trainable = isinstance(layer, layers.Conv2D) and layer.name.startswith(pretrain.TOP_BLOCK)
    return model
