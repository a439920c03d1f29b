# cell: activation_model
# wrong: returns the course's activation model instead of building one
import cnnbook.visualize as _course


def activation_model(model, layer_names):
    return _course.activation_model(model, layer_names)
