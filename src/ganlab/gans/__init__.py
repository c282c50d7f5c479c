"""The GAN families. A variant's `family` in params.yaml names one: its settings class in
ganlab/family_settings.py (pydantic, registered with @family) and its trainer module gans/<family>.py.
gans/build.py builds a family's GAN by importing that module by name. Nothing is imported
here, so reading the settings never imports TensorFlow."""
