# cell: activation_model
# wrong: returns each layer's input instead of its output
def activation_model(model, layer_names):
    outputs = [model.get_layer(name).input for name in layer_names]
    return keras.Model(model.inputs, outputs)
