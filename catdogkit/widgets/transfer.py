"""The button that trains the transfer network (lesson 07), only when a student asks."""
import ipywidgets as W

from catdogkit import data, models, training
from catdogkit.i18n import _, format_number, format_percent
from catdogkit.widgets.messages import error_html, note_html


def transfer_learning(root, *, epochs=3, fine_tune_epochs=2, image_size=160):
    """A button that trains the transfer network (pretrained MobileNetV2 + small head).

    Nothing runs until the button is clicked: the ImageNet weights must be downloaded
    (Colab can; an offline machine cannot, and the box says so) and a few epochs take
    minutes on a Colab GPU, far longer on a CPU. Training goes to
    ``catdogkit.training.runs_dir("transfer_cnn")``: on Google Drive when it is mounted,
    so a disconnect there loses at most the epoch in progress.
    Returns the box (a ``VBox``) to display. Introduced in lesson 07.
    """
    button = W.Button(description=_("Train the transfer network"), button_style="warning",
                      layout=W.Layout(width="auto"))
    status = W.HTML(_("Nothing is trained until you click. On a Colab GPU it takes a few "
                      "minutes; on a CPU it can take an hour."))
    output = W.Output()

    def clicked(_button):
        button.disabled = True
        try:
            with output:
                status.value = note_html(_train(root, epochs, fine_tune_epochs, image_size))
        except Exception as error:  # a callback's error would otherwise vanish
            status.value = error_html(error, _("Transfer network"))
        finally:
            button.disabled = False
    button.on_click(clicked)
    box = W.VBox([button, status, output])
    box.add_class("catdogkit-transfer")
    return box


def _train(root, epochs, fine_tune_epochs, image_size):
    datasets = data.load_datasets(root, image_size=image_size)
    model = models.transfer_cnn(input_shape=(image_size, image_size, 3))
    out = training.runs_dir("transfer_cnn")
    training.train(model, datasets, epochs=epochs, out=out / "head")
    models.fine_tune(model)
    training.train(model, datasets, epochs=fine_tune_epochs, out=out / "fine_tuned")
    result = training.evaluate(model, datasets.validation, datasets.class_names)
    return _("Transfer network: {accuracy} of {n} validation photos right, after training "
             "only the new head and then the top of the base.").format(
        accuracy=format_percent(result["accuracy"]), n=format_number(result["n"]))
