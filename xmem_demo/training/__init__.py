"""Training the bundled `mini` model on synthetic videos (see `python -m xmem_demo.training.train -h`)."""
