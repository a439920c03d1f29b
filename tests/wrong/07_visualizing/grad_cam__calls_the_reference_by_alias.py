# cell: grad_cam
# wrong: calls the course's Grad-CAM through a name bound before the tests
from cnnbook.visualize import grad_cams as _course_grad_cams


def grad_cam(model, image, class_index, layer_name=None):
    return _course_grad_cams(model, np.asarray(image)[None], [class_index], layer_name)[0]
