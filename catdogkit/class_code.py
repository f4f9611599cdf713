"""The class code as text: the Keras book's first-edition notebooks 5.2 and 5.4, condensed.

Kept apart from :mod:`catdogkit.legacy` (which runs its old calls) because it is only
text to read. Introduced in lesson 00 (reviewing and running the class code).
"""
from pathlib import Path

#: Where the quoted code comes from.
SOURCE = ("Deep Learning with Python, 1st edition (Keras 2.0.8): notebooks "
          "5.2-using-convnets-with-small-datasets and 5.4-visualizing-what-convnets-learn, "
          "github.com/fchollet/deep-learning-with-python-notebooks, folder first_edition/")

#: The class code, quoted from notebooks 5.2 and 5.4 (``class_code.txt`` beside this file).
#: Condensed: the cell that copies the Kaggle photos into folders, the print-outs, the plots
#: and the loops that draw grids are left out (the comments in parentheses say where), and
#: calls the book spreads over several lines are joined; every code line is the book's, the
#: comments are ours.
CLASS_CODE = Path(__file__).with_name("class_code.txt").read_text(encoding="utf-8")
