"""The one exception type users see: a message that says what is wrong and what to do.

The command line prints it without a traceback; widgets show it in their message area.
"""


class CatDogKitError(Exception):
    """A problem with the user's input or environment, explained in plain words.

    ``exit_code`` is what the command line exits with (2: unusable input).
    """

    def __init__(self, message, exit_code=2):
        super().__init__(message)
        self.exit_code = exit_code
