"""Pure-Python model of a project: spec, validation, shapes, files. No Qt, no TensorFlow."""
