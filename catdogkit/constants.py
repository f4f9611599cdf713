"""Names and limits that several layers share, written once.

Introduced in lesson 01 (utility functions).
"""
#: The class folders of the embedded sample and of the Kaggle set; real data decides its own
#: names (``gatos/``, ``Cat/``…), so code that has data asks it (``Datasets.class_names``).
CLASS_NAMES = ("cats", "dogs")
#: Environment variable naming the photos (see :func:`catdogkit.data.find_data`).
DATA_ENV = "CATDOGKIT_DATA"
#: Environment variable naming the kit's cache folder.
CACHE_ENV = "CATDOGKIT_CACHE"
#: Largest photo a student may upload, and so the largest websocket message a Voila page
#: accepts. A phone photo is 2-5 MB; every front end hits the websocket limit at 10 MB, so
#: 8 MiB stays below it (Colab may still drop uploads from about 1 MB: ipywidgets #3452).
MAX_UPLOAD_BYTES = 8 * 1024 * 1024
#: Parameters of the class-manual network at 150x150 (Keras book, first edition, 5.2).
CLASS_NETWORK_PARAMS = 3_453_121
#: TensorFlow's start-up log switches: both must be set before TensorFlow is imported
#: (nbgrader scores a test cell that writes to stderr 0; Voila shows stderr in red).
TF_LOG_SWITCHES = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0",
                   "KERAS_BACKEND": "tensorflow"}
