"""The explorers the lessons show, built only on ``catdogkit.visualize``.

Every explorer has ``.widget`` (display it, or display the explorer itself), its controls
and outputs as attributes (tests and Voila pages drive them), and a ``.message`` area
where errors from callbacks appear. Works on ipywidgets 7.7 (Colab) and 8.x.
"""
from catdogkit.widgets._compat import IPYWIDGETS_MAJOR, clear_upload, uploaded_files
from catdogkit.widgets.basics import (
    ConvolutionStepExplorer, PaddingStrideExplorer, ReceptiveFieldExplorer)
from catdogkit.widgets.browser import DataBrowser
from catdogkit.widgets.dense import DenseExplorer
from catdogkit.widgets.featuremaps import FeatureMapExplorer
from catdogkit.widgets.filters import FilterExplorer
from catdogkit.widgets.gradcam import GradCamExplorer
from catdogkit.widgets.layers import LayerExplorer, statistics_table
from catdogkit.widgets.monitor import TrainingMonitor
from catdogkit.widgets.photos import MAX_UPLOAD_BYTES, PhotoPicker
from catdogkit.widgets.transfer import transfer_learning

__all__ = [
    "ConvolutionStepExplorer", "IPYWIDGETS_MAJOR", "MAX_UPLOAD_BYTES", "DataBrowser",
    "DenseExplorer",
    "FeatureMapExplorer", "FilterExplorer", "GradCamExplorer", "LayerExplorer",
    "PaddingStrideExplorer", "PhotoPicker", "ReceptiveFieldExplorer", "TrainingMonitor",
    "clear_upload", "statistics_table", "transfer_learning",
    "uploaded_files",
]
