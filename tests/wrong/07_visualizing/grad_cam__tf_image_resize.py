# cell: grad_cam
# wrong: resizes the map with tf.image.resize, which puts cell i at (i + 0.5) * H / h - 0.5, not at its unit's receptive-field centre
def grad_cam(model, image, class_index, layer_name=None):
    if layer_name is None:
        layer_name = [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)][-1]
    extractor = activation_model(model, [layer_name, model.layers[-1].name])
    x = np.asarray(image, dtype="float32")[None]
    with tf.GradientTape() as tape:
        maps, scores = extractor(x, training=False)
        score = scores[0, class_index]
    gradients = tape.gradient(score, maps)
    weights = tf.reduce_mean(gradients, axis=(1, 2))
    cam = tf.nn.relu(tf.reduce_sum(maps[0] * weights[0], axis=-1))
    cam = tf.image.resize(cam[..., None], image.shape[:2], method="bilinear")[..., 0].numpy()
    peak = cam.max()
    return cam / peak if peak > 0 else cam
