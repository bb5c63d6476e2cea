"""Demo and training mode, free of Qt: generated worlds, scripted scenarios, a clock-driven simulation, scores.

- ``texts``: realistic report texts for every category, from every channel, each with its answer.
- ``world``: ``seed_world`` fills a database with users and months of historic cases, fast.
- ``scenarios``: scripted training scenarios (``resources/scenarios/*.json``) and their validation.
- ``sim``: the live simulation (``SimClock``, ``Simulation``) that injects reports and plays the units.
- ``scoring``: a trainee's score, from facts or from a stored run.
- ``safety``: demo mode never writes to the configured production database.
"""
