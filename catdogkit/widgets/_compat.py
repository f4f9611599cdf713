"""What differs between ipywidgets 7.7 (Colab) and 8.x (JupyterLab 4, Voila).

Only ``FileUpload`` differs for the widgets the kit uses; everything else sticks to
widgets and traits present in both (no ``Tab.titles``, ``Stack``, ``TagsInput``, ``tooltip``).
"""
import ipywidgets

IPYWIDGETS_MAJOR = int(ipywidgets.__version__.split(".")[0])


def uploaded_files(upload):
    """The files of a ``FileUpload`` as ``[(name, bytes)]``, on ipywidgets 7 or 8.

    7.x: ``value`` is a dict ``{name: {"metadata": {...}, "content": bytes}}``;
    8.x: a tuple of dicts ``{"name", "type", "size", "content": memoryview, ...}``.
    """
    value = upload.value
    if isinstance(value, dict):
        return [(name, bytes(item["content"])) for name, item in value.items()]
    return [(item["name"], bytes(item["content"])) for item in value]


def clear_upload(upload):
    """Forget the uploaded files, so uploading the same file again is seen as a change.
    """
    if IPYWIDGETS_MAJOR >= 8:
        upload.value = ()
    else:  # 7.x: value is read-only and not synced; the front end only sends new files
        upload.set_trait("value", {})
