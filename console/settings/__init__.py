"""Settings for the console, one module per mode: demo, dev, test and production."""
