# cell: grad_cam
# wrong: by default takes the first Conv2D instead of the last
def grad_cam(model, image, class_index, layer_name=None):
    if layer_name is None:
        layer_name = [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)][0]
    extractor = activation_model(model, [layer_name, model.layers[-1].name])
    x = np.asarray(image, dtype="float32")[None]
    with tf.GradientTape() as tape:
        maps, scores = extractor(x, training=False)
        score = scores[0, class_index]
    gradients = tape.gradient(score, maps)
    weights = tf.reduce_mean(gradients, axis=(1, 2))
    cam = tf.nn.relu(tf.reduce_sum(maps[0] * weights[0], axis=-1)).numpy()
    _, jump, start = receptive_field(model, layer_name)
    (height, width), (h, w) = image.shape[:2], cam.shape
    cam = np.stack([np.interp(np.arange(width), start + jump * np.arange(w), row) for row in cam])
    cam = np.stack([np.interp(np.arange(height), start + jump * np.arange(h), column)
                    for column in cam.T], axis=1)
    peak = cam.max()
    return cam / peak if peak > 0 else cam
