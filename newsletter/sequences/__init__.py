"""Sequences: a list's welcome series or drip, steps sent a delay after each reader confirmed.

``service`` is what the CLI, the API and the admin call; ``due`` finds the readers a step is
due for; ``tick`` hands them to the sending engine; ``commands`` is ``newsletter sequences``.
"""
