# cell: activation_model
# wrong: rebuilds the layers from their configuration: right shapes, but new untrained weights
def activation_model(model, layer_names):
    copy = keras.models.clone_model(model)
    outputs = [copy.get_layer(name).output for name in layer_names]
    return keras.Model(copy.inputs, outputs)
