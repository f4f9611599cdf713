"""Finding, checking and streaming the photos. Introduced in lesson 00.

``find_data`` says where the photos are, ``check_photos`` which of them are usable,
``load_datasets`` streams them into a network with ``tf.data``. TensorFlow is imported
only when a dataset is built, so finding and checking photos stays quick.
"""
from catdogkit.data.arrays import labelled_batches, photos_and_labels
from catdogkit.data.broken import broken_photos_demo
from catdogkit.data.checks import CheckReport, check_photos, inspect_photo
from catdogkit.data.layouts import detect_layout, stratified_split
from catdogkit.data.pipeline import (
    Datasets, augmentation, first_photos, list_photos, load_datasets, load_photo)
from catdogkit.data.sources import (
    DEFAULT_URL, DataSource, download, extract, fetch_archive, find_data, sha256_of, use_drive)

__all__ = [
    "CheckReport", "DEFAULT_URL", "DataSource", "Datasets", "augmentation", "broken_photos_demo",
    "check_photos",
    "detect_layout", "download", "extract", "fetch_archive", "find_data", "first_photos", "inspect_photo",
    "labelled_batches",
    "list_photos", "load_datasets", "load_photo", "photos_and_labels", "sha256_of", "stratified_split", "use_drive",
]
