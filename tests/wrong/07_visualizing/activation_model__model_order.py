# cell: activation_model
# wrong: returns the feature maps in the model's layer order, not in the order of layer_names
def activation_model(model, layer_names):
    outputs = [layer.output for layer in model.layers if layer.name in layer_names]
    return keras.Model(model.inputs, outputs)
