"""Looking inside the network: pure functions, arrays in, arrays (or figures) out.

One idea per module: ``layers`` (lookup by name, photo shapes, cached sub-models),
``activations`` (feature maps, per-layer statistics), ``dense`` (head cost, unit
activations, PCA), ``filters`` (kernels, patterns by gradient ascent), ``heatmaps``
(Grad-CAM), ``basics`` (one convolution output, output sizes, receptive-field boxes, class
activation maps), ``cost`` (parameters, multiply-adds, speed, pooling's effect),
``selectivity`` (cat-vs-dog preference of channels over many photos,
receptive fields), ``outcomes`` (confusion matrix, misclassified photos), ``render`` (mosaics and
PNG bytes, no matplotlib figure) and ``plots`` (matplotlib figures).
Everything public is re-exported here: ``cdk.visualize.feature_maps(model, photo, "conv1")``.
"""
from catdogkit.visualize.basics import (
    class_activation_map, conv_output_size, convolution_at, convolve, layer_input, unit_box)
from catdogkit.visualize.cost import (
    layer_costs, photos_per_second, relative_change, shifted, without_pooling)
from catdogkit.visualize.activations import (
    all_feature_maps, feature_maps, layer_outputs, layer_statistics)
from catdogkit.visualize.dense import (
    class_means, class_separation, dense_activations, head_parameter_cost, pca_2d)
from catdogkit.visualize.filters import (
    filter_patterns, first_layer_patches, kernel_weights, pattern_layer)
from catdogkit.visualize.heatmaps import default_cam_layer, grad_cam, overlay
from catdogkit.visualize.layers import (
    activation_model, as_batch, check_layer, input_size, layer_names, layer_table, photo_digest)
from catdogkit.visualize.outcomes import confusion_matrix, misclassified
from catdogkit.visualize.selectivity import (
    channel_selectivity, most_selective, receptive_field, top_patches)
from catdogkit.visualize.render import (
    colour_tiles, colour_tiles_png, deprocess, image_png, scale_each, scale_together, tile)
from catdogkit.visualize.plots import (
    figure_png, plot_all_feature_maps, plot_confusion_matrix, plot_dense_units,
    plot_feature_maps, plot_filter_patterns, plot_grad_cam, plot_images, plot_kernels,
    plot_layer_statistics, plot_misclassified, plot_pca, plot_side_by_side,
    plot_training_curves)

__all__ = [
    "activation_model", "all_feature_maps", "as_batch", "channel_selectivity", "check_layer",
    "class_activation_map", "conv_output_size", "convolution_at", "convolve", "layer_input",
    "layer_costs", "photos_per_second", "relative_change", "shifted", "unit_box",
    "without_pooling",
    "class_means",
    "class_separation", "colour_tiles", "colour_tiles_png", "confusion_matrix", "default_cam_layer", "dense_activations",
    "deprocess", "feature_maps", "figure_png", "filter_patterns", "first_layer_patches",
    "grad_cam", "head_parameter_cost", "image_png", "input_size", "kernel_weights", "layer_names",
    "layer_outputs", "layer_statistics", "layer_table", "misclassified", "most_selective",
    "pattern_layer",
    "overlay", "pca_2d", "receptive_field",
    "photo_digest", "plot_all_feature_maps", "plot_confusion_matrix", "plot_dense_units",
    "plot_feature_maps", "plot_filter_patterns", "plot_grad_cam", "plot_images",
    "plot_kernels", "plot_layer_statistics", "plot_misclassified", "plot_pca",
    "plot_side_by_side", "plot_training_curves", "scale_each", "scale_together", "tile",
    "top_patches",
]
