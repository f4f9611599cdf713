"""Recipes: how each network is trained by default, and the improved network's phases."""
import pytest

from catdogkit import recipes
from catdogkit.errors import CatDogKitError


def test_the_improved_recipe_trains_on_small_photos_first_and_scales_its_phases():
    assert recipes.phases("improved") == [(64, 20), (96, 28), (128, 20)]
    assert sum(epochs for _, epochs in recipes.phases("improved")) == recipes.RECIPES["improved"]["epochs"]
    # Other epochs keep each phase's share; another final size keeps the sizes' ratios.
    assert recipes.phases("improved", epochs=10) == [(64, 3), (96, 4), (128, 3)]
    assert recipes.phases("improved", image_size=150) == [(75, 20), (112, 28), (150, 20)]
    # The last phase, at the final size, always trains; phases left with nothing are dropped.
    assert recipes.phases("improved", epochs=1) == [(128, 1)]
    assert recipes.phases("improved", epochs=2) == [(64, 1), (128, 1)]
    # Never below the smallest phase size, and two phases at one size are one.
    assert recipes.phases("improved", epochs=5, image_size=40) == [(32, 4), (40, 1)]
    assert recipes.phases("improved", epochs=5, image_size=20) == [(20, 5)]
    assert recipes.phases("original") == [(150, 30)]
    assert recipes.phases("original", epochs=3, image_size=100) == [(100, 3)]
    with pytest.raises(CatDogKitError, match="at least one epoch"):
        recipes.phases("improved", epochs=0)
