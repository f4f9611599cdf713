"""catdogkit.widgets.transfer_learning: a button that trains only when clicked."""
from catdogkit.errors import CatDogKitError
from catdogkit.widgets import transfer_learning


def test_transfer_learning_button_trains_nothing_until_clicked_and_explains_failures(monkeypatch, tiny_sample):
    from catdogkit import models

    built = []

    def offline(*args, **kwargs):
        built.append(args)
        raise CatDogKitError("could not fetch the 'imagenet' weights for mobilenet_v2")

    monkeypatch.setattr(models, "transfer_cnn", offline)
    box = transfer_learning(tiny_sample)
    button, status = box.children[0], box.children[1]
    assert built == [] and "Nothing is trained until you click" in status.value
    button.click()
    assert len(built) == 1
    assert "could not fetch" in status.value and not button.disabled
