"""Placeholder until its owner fills it in."""


def register(subparsers):
    pass
